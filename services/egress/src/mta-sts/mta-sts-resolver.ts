import type { RelayConfig } from '@ser/config';
import type { Logger } from '@ser/logger';
import { createRedis } from '@ser/queue';
import { CONFIG, LOGGER } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import type { OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { request } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { LookupFunction } from 'node:net';
import { isIP } from 'node:net';
import { rootCertificates } from 'node:tls';
import { types } from 'node:util';
import { isPublicAddress } from '../dns/address-policy';
import { DnsClient, DnsNotFoundError } from '../dns/dns-client';
import {
  checkPolicyResponse,
  fetchFailureOf,
  MAX_POLICY_BYTES,
  MtaStsFetchError,
  mtaStsPolicySchema,
  normalizeHost,
  parsePolicy,
  parseStsRecord,
} from './mta-sts-policy';
import type { MtaStsFetchFailure, MtaStsPolicy } from './mta-sts-policy';

export type { MtaStsPolicy } from './mta-sts-policy';

const POLICY_PATH = '/.well-known/mta-sts.txt';
const FETCH_TIMEOUT_MS = 10_000;
/** The cache only saves a fetch: never hold a delivery longer than this for Redis. */
const REDIS_READY_TIMEOUT_MS = 2000;
const HOST_NAME =
  /^(?=.{1,253}$)([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9])?\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * MTA-STS policy discovery (RFC 8461 §3–§5) with a policy cache in Redis shared by every egress
 * replica (`<prefix>:mtasts:<domain>`, expiring after max_age). Never throws: a lookup that goes
 * wrong yields the still-valid cached policy, or none.
 */
@Injectable()
export class MtaStsResolver implements OnApplicationShutdown {
  private redis: Redis | undefined;
  private readonly ca: string[] | undefined;
  private readonly inflight = new Map<string, Promise<MtaStsPolicy | undefined>>();

  constructor(
    private readonly dns: DnsClient,
    @Inject(CONFIG) private readonly config: RelayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    // Node's CAs plus the operator's (private PKI, tests); read now so a bad path fails start-up.
    const extra = config.SER_EGRESS_CA_FILE;
    this.ca = extra === undefined ? undefined : [...rootCertificates, readFileSync(extra, 'utf8')];
  }

  /** The policy to apply to mail for `domain`, or undefined when it has none (or it is disabled). */
  policyFor(domain: string): Promise<MtaStsPolicy | undefined> {
    if (!this.config.SER_EGRESS_MTA_STS_ENABLED) {
      return Promise.resolve(undefined);
    }
    const name = normalizeHost(domain);
    if (!HOST_NAME.test(name)) {
      return Promise.resolve(undefined);
    }
    // One discovery per domain at a time in this process: a burst of jobs shares one fetch.
    let pending = this.inflight.get(name);
    if (pending === undefined) {
      pending = this.discover(name)
        .catch((error: unknown) => {
          this.logger.warn(
            { code: 'EGRESS_MTA_STS_FAILED', domain: name, err: error },
            'MTA-STS lookup failed',
          );
          return undefined;
        })
        .finally(() => this.inflight.delete(name));
      this.inflight.set(name, pending);
    }
    return pending;
  }

  onApplicationShutdown(): void {
    this.redis?.disconnect();
    this.redis = undefined;
  }

  /** §5.1: a new id means a new policy; without a usable record a cached policy stays valid. */
  private async discover(domain: string): Promise<MtaStsPolicy | undefined> {
    const [cached, id] = await Promise.all([this.readCache(domain), this.recordId(domain)]);
    if (id === undefined || cached?.id === id) {
      return cached;
    }
    return (await this.refresh(domain, id)) ?? cached;
  }

  private async recordId(domain: string): Promise<string | undefined> {
    let records: string[];
    try {
      records = await this.dns.txt(`_mta-sts.${domain}`);
    } catch (error) {
      if (!(error instanceof DnsNotFoundError)) {
        this.logger.warn(
          { code: 'EGRESS_MTA_STS_DNS_FAILED', domain, err: error },
          'MTA-STS record lookup failed',
        );
      }
      return undefined;
    }
    const record = parseStsRecord(records);
    switch (record.kind) {
      case 'found':
        return record.id;
      case 'invalid':
        this.logger.warn(
          { code: 'EGRESS_MTA_STS_RECORD_INVALID', domain, reason: record.reason },
          'MTA-STS record ignored',
        );
        return undefined;
      case 'absent':
        return undefined;
    }
  }

  private async refresh(domain: string, id: string): Promise<MtaStsPolicy | undefined> {
    let policy: MtaStsPolicy;
    try {
      const parsed = parsePolicy(await this.fetchPolicyText(`mta-sts.${domain}`));
      policy = { id, ...parsed, fetchedAt: new Date().toISOString() };
    } catch (error) {
      const reason = fetchFailureOf(error);
      this.logger.warn(
        { code: 'EGRESS_MTA_STS_FETCH_FAILED', domain, id, reason, err: error },
        'MTA-STS policy fetch failed',
      );
      return undefined;
    }
    this.logger.info(
      { code: 'EGRESS_MTA_STS_POLICY_FETCHED', domain, id, mode: policy.mode, maxAge: policy.maxAge },
      'MTA-STS policy fetched',
    );
    await this.writeCache(domain, policy);
    return policy;
  }

  /** §3.3: HTTPS with a valid certificate for the policy host, no redirects. */
  private fetchPolicyText(host: string): Promise<string> {
    return new Promise((resolve, reject) => {
      const req = request({
        host,
        port: this.config.SER_EGRESS_MTA_STS_PORT,
        path: POLICY_PATH,
        method: 'GET',
        servername: host,
        rejectUnauthorized: true,
        ca: this.ca,
        lookup: this.lookup,
        agent: false,
        headers: { accept: 'text/plain' },
      });
      let timedOut = false;
      const timer = setTimeout(() => {
        timedOut = true;
        req.destroy();
      }, FETCH_TIMEOUT_MS);
      const fail = (error: unknown): void => {
        clearTimeout(timer);
        req.destroy();
        if (timedOut) {
          reject(
            new MtaStsFetchError('timeout', `no policy within ${FETCH_TIMEOUT_MS} ms`, { cause: error }),
          );
        } else {
          reject(asError(error, 'network'));
        }
      };
      req.on('error', fail);
      req.on('response', (response) => {
        readPolicyBody(response).then((text) => {
          clearTimeout(timer);
          resolve(text);
        }, fail);
      });
      req.end();
    });
  }

  /** Resolves the policy host through the relay's resolvers, never towards private networks. */
  private readonly lookup: LookupFunction = (hostname, options, callback) => {
    this.addressesOf(hostname, options.family).then(
      (addresses) => {
        if (options.all === true) {
          callback(
            null,
            addresses.map((address) => ({ address, family: isIP(address) })),
          );
        } else {
          const first = addresses[0] ?? '';
          callback(null, first, isIP(first));
        }
      },
      (error: unknown) => callback(asError(error, 'address'), ''),
    );
  };

  private async addressesOf(host: string, family: number | string | undefined): Promise<string[]> {
    const wanted = family === 4 || family === 'IPv4' ? 4 : family === 6 || family === 'IPv6' ? 6 : 0;
    const [v4, v6] = await Promise.allSettled([this.dns.a(host), this.dns.aaaa(host)]);
    const found = [v4, v6]
      .flatMap((r) => (r.status === 'fulfilled' ? r.value : []))
      .filter((ip) => wanted === 0 || isIP(ip) === wanted);
    if (found.length === 0) {
      const failure = [v4, v6].find((r) => r.status === 'rejected');
      throw new MtaStsFetchError('address', `${host} has no address`, { cause: failure?.reason });
    }
    const usable = this.config.SER_EGRESS_ALLOW_PRIVATE_MX
      ? found
      : found.filter((ip) => isPublicAddress(ip));
    if (usable.length === 0) {
      throw new MtaStsFetchError('address', `${host} resolves only to non-public addresses`);
    }
    return usable;
  }

  private cacheKey(domain: string): string {
    return `${this.config.SER_QUEUE_PREFIX}:mtasts:${domain}`;
  }

  private async readCache(domain: string): Promise<MtaStsPolicy | undefined> {
    try {
      const raw = await (await this.connection()).get(this.cacheKey(domain));
      if (raw === null) {
        return undefined;
      }
      const parsed = mtaStsPolicySchema.safeParse(JSON.parse(raw));
      if (!parsed.success) {
        throw new Error('cached MTA-STS policy has an unexpected shape', { cause: parsed.error });
      }
      const expiresAt = Date.parse(parsed.data.fetchedAt) + parsed.data.maxAge * 1000;
      return expiresAt > Date.now() ? parsed.data : undefined;
    } catch (error) {
      this.logger.warn(
        { code: 'EGRESS_MTA_STS_CACHE_FAILED', domain, err: error },
        'MTA-STS cache read failed',
      );
      return undefined;
    }
  }

  private async writeCache(domain: string, policy: MtaStsPolicy): Promise<void> {
    try {
      const redis = await this.connection();
      if (policy.maxAge > 0) {
        await redis.set(this.cacheKey(domain), JSON.stringify(policy), 'EX', policy.maxAge);
      } else {
        await redis.del(this.cacheKey(domain));
      }
    } catch (error) {
      this.logger.warn(
        { code: 'EGRESS_MTA_STS_CACHE_FAILED', domain, err: error },
        'MTA-STS cache write failed',
      );
    }
  }

  /** Connected on first use: with MTA-STS disabled, no Redis connection is opened at all. */
  private async connection(): Promise<Redis> {
    if (this.redis === undefined) {
      this.redis = createRedis(this.config.REDIS_URL, 'producer');
      // Failures surface through rejected commands; the 'error' events would only be noise.
      this.redis.on('error', () => undefined);
    }
    const redis = this.redis;
    if (redis.status !== 'ready') {
      await once(redis, 'ready', { signal: AbortSignal.timeout(REDIS_READY_TIMEOUT_MS) });
    }
    return redis;
  }
}

/** Reads the policy body once the status and headers pass §3.3; at most MAX_POLICY_BYTES. */
async function readPolicyBody(response: IncomingMessage): Promise<string> {
  const headers = response.headers;
  checkPolicyResponse(response.statusCode ?? 0, headers['content-type'], headers['content-length']);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of response as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_POLICY_BYTES) {
      throw new MtaStsFetchError('too-large', `policy larger than ${MAX_POLICY_BYTES} bytes`);
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Errors of node:https come from another realm under Jest, where `instanceof Error` fails. */
function asError(error: unknown, reason: MtaStsFetchFailure): Error {
  return types.isNativeError(error) ? error : new MtaStsFetchError(reason, String(error));
}
