import { loadConfig } from '@ser/config';
import type { RelayConfig } from '@ser/config';
import { createLogger } from '@ser/logger';
import { createRedis } from '@ser/queue';
import { generateSelfSignedCert, startDnsServer, uniqueName } from '@ser/testing';
import type { SelfSignedCert, TestDnsServer } from '@ser/testing';
import type { Redis } from 'ioredis';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import type { SecureContext, TLSSocket } from 'node:tls';
import { DnsClient } from '../src/dns/dns-client';
import { mxMatches } from '../src/mta-sts/mta-sts-policy';
import { MtaStsResolver } from '../src/mta-sts/mta-sts-resolver';

const ENFORCE =
  'version: STSv1\r\nmode: enforce\r\nmx: mx1.dest.test\r\nmx: *.mx.dest.test\r\nmax_age: 86400\r\n';
const TESTING = 'version: STSv1\nmode: testing\nmx: mx2.dest.test\nmax_age: 3600\n';

interface Reply {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** Sent in chunks without Content-Length, so only the bytes read can tell the size. */
  chunked?: boolean;
}

const policyReply = (body: string): Reply => ({
  status: 200,
  headers: { 'content-type': 'text/plain; charset=utf-8' },
  body,
});

/** One HTTPS listener for every policy host, told apart by SNI like a shared hosting front end. */
class PolicyServer {
  readonly replies = new Map<string, Reply>();
  readonly requests = new Map<string, number>();
  connections = 0;
  private server: Server | undefined;

  async start(trusted: SelfSignedCert, untrusted: SelfSignedCert, untrustedHosts: string[]): Promise<number> {
    const contexts = new Map<string, SecureContext>(
      untrustedHosts.map((h) => [h, createSecureContext({ key: untrusted.key, cert: untrusted.cert })]),
    );
    const server = createServer({
      key: trusted.key,
      cert: trusted.cert,
      SNICallback: (name, cb) => cb(null, contexts.get(name)),
    });
    server.on('connection', () => this.connections++);
    server.on('request', (req, res) => {
      const host = (req.socket as TLSSocket).servername || '';
      this.requests.set(host, this.count(host) + 1);
      const reply =
        req.url === '/.well-known/mta-sts.txt'
          ? this.replies.get(host)
          : { status: 404, headers: {}, body: '' };
      res.writeHead(reply?.status ?? 404, reply?.headers ?? {});
      if (reply?.chunked === true) {
        for (let at = 0; at < reply.body.length; at += 8192) {
          res.write(reply.body.slice(at, at + 8192));
        }
        res.end();
      } else {
        res.end(reply?.body ?? '');
      }
    });
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  count(host: string): number {
    return this.requests.get(host) ?? 0;
  }

  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise((resolve) => this.server?.close(resolve));
  }
}

describe('MtaStsResolver (real DNS, HTTPS and Redis)', () => {
  const hosts = ['dest', 'replica', 'down', 'redirect', 'wrongtype', 'invalid', 'huge', 'private', 'zero'];
  const logger = createLogger({ level: process.env['SER_TEST_LOG_LEVEL'] ?? 'silent', pretty: false });
  const server = new PolicyServer();
  const resolvers: MtaStsResolver[] = [];
  let dns: TestDnsServer;
  let redis: Redis;
  let dir: string;
  let baseEnv: Record<string, string>;
  let config: RelayConfig;

  function configWith(overrides: Record<string, string> = {}): RelayConfig {
    return loadConfig({ ...baseEnv, ...overrides });
  }

  function resolver(cfg: RelayConfig = config): MtaStsResolver {
    const created = new MtaStsResolver(new DnsClient(cfg), cfg, logger);
    resolvers.push(created);
    return created;
  }

  /** Publishes `_mta-sts.<domain>` and points `mta-sts.<domain>` at `address`. */
  function publish(domain: string, id: string, address = '127.0.0.1'): void {
    dns.set(`_mta-sts.${domain}`, 'TXT', ['v=spf1 -all', `v=STSv1; id=${id};`]);
    dns.set(`mta-sts.${domain}`, 'A', [address]);
  }

  beforeAll(async () => {
    dns = await startDnsServer();
    const trusted = generateSelfSignedCert({
      commonName: 'mta-sts.dest.test',
      altNames: [...hosts.map((h) => `DNS:mta-sts.${h}.test`)],
    });
    const untrusted = generateSelfSignedCert({
      commonName: 'mta-sts.badcert.test',
      altNames: ['DNS:mta-sts.badcert.test'],
    });
    const port = await server.start(trusted, untrusted, ['mta-sts.badcert.test']);
    dir = mkdtempSync(join(tmpdir(), 'ser-mta-sts-'));
    writeFileSync(join(dir, 'ca.pem'), trusted.cert);
    baseEnv = {
      REDIS_URL: process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379',
      SER_QUEUE_PREFIX: uniqueName('mtasts'),
      SER_DNS_SERVERS: dns.address,
      // Record changes must be seen at once, not after the DnsClient cache expires.
      SER_DNS_CACHE_MAX_TTL_S: '0',
      SER_EGRESS_MTA_STS_PORT: String(port),
      SER_EGRESS_CA_FILE: join(dir, 'ca.pem'),
      SER_EGRESS_ALLOW_PRIVATE_MX: 'true',
    };
    config = configWith();
    redis = createRedis(config.REDIS_URL, 'worker');
  });

  afterAll(async () => {
    for (const r of resolvers) {
      r.onApplicationShutdown();
    }
    const keys = await redis.keys(`${config.SER_QUEUE_PREFIX}:mtasts:*`);
    if (keys.length > 0) {
      await redis.del(...keys);
    }
    redis.disconnect();
    await Promise.all([server.close(), dns.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('fetches and parses an enforce policy, then serves it from Redis for this and another replica', async () => {
    publish('dest.test', 'v1');
    server.replies.set('mta-sts.dest.test', policyReply(ENFORCE));
    const first = resolver();

    const policy = await first.policyFor('Dest.Test.');
    const { fetchedAt, ...fields } = policy!;
    expect(fields).toEqual({
      id: 'v1',
      mode: 'enforce',
      mx: ['mx1.dest.test', '*.mx.dest.test'],
      maxAge: 86400,
    });
    expect(Math.abs(Date.parse(fetchedAt) - Date.now())).toBeLessThan(60_000);
    expect(server.count('mta-sts.dest.test')).toBe(1);
    const ttl = await redis.ttl(`${config.SER_QUEUE_PREFIX}:mtasts:dest.test`);
    expect(ttl).toBeGreaterThan(86400 - 60);
    expect(ttl).toBeLessThanOrEqual(86400);

    expect(await first.policyFor('dest.test')).toEqual(policy);
    expect(await resolver().policyFor('dest.test')).toEqual(policy);
    expect(server.count('mta-sts.dest.test')).toBe(1);

    expect(mxMatches(policy!.mx, 'mx1.dest.test')).toBe(true);
    expect(mxMatches(policy!.mx, 'a.mx.dest.test.')).toBe(true);
    expect(mxMatches(policy!.mx, 'a.b.mx.dest.test')).toBe(false);
    expect(mxMatches(policy!.mx, 'evil.test')).toBe(false);
  });

  it('refetches when the record id changes, and every replica then sees the new policy', async () => {
    publish('replica.test', 'a1');
    server.replies.set('mta-sts.replica.test', policyReply(ENFORCE));
    const one = resolver();
    expect(await one.policyFor('replica.test')).toMatchObject({ id: 'a1', mode: 'enforce' });

    publish('replica.test', 'a2');
    server.replies.set('mta-sts.replica.test', policyReply(TESTING));
    expect(await one.policyFor('replica.test')).toMatchObject({
      id: 'a2',
      mode: 'testing',
      mx: ['mx2.dest.test'],
    });
    expect(await resolver().policyFor('replica.test')).toMatchObject({ id: 'a2', mode: 'testing' });
    expect(server.count('mta-sts.replica.test')).toBe(2);
  });

  it('keeps a still-valid cached policy when the record disappears or the policy host is down', async () => {
    publish('down.test', 'd1');
    server.replies.set('mta-sts.down.test', policyReply(ENFORCE));
    const r = resolver();
    const cached = await r.policyFor('down.test');
    expect(cached).toMatchObject({ id: 'd1', mode: 'enforce' });

    dns.remove('_mta-sts.down.test');
    expect(await r.policyFor('down.test')).toEqual(cached);

    // A new id, but nothing listens at the new address: the fetch fails and §5.1 keeps the policy.
    publish('down.test', 'd2', '127.0.0.2');
    expect(await r.policyFor('down.test')).toEqual(cached);
    expect(server.count('mta-sts.down.test')).toBe(1);
  });

  it('gives no policy when the certificate is not trusted', async () => {
    publish('badcert.test', 'b1');
    server.replies.set('mta-sts.badcert.test', policyReply(ENFORCE));
    const before = server.connections;
    expect(await resolver().policyFor('badcert.test')).toBeUndefined();
    // The TLS handshake was attempted and refused: no HTTP request reached the server.
    expect(server.connections).toBe(before + 1);
    expect(server.count('mta-sts.badcert.test')).toBe(0);
  });

  it('does not follow a redirect (§3.3)', async () => {
    publish('redirect.test', 'r1');
    server.replies.set('mta-sts.redirect.test', {
      status: 301,
      headers: { location: 'https://mta-sts.dest.test/.well-known/mta-sts.txt' },
      body: '',
    });
    const destRequests = server.count('mta-sts.dest.test');
    expect(await resolver().policyFor('redirect.test')).toBeUndefined();
    expect(server.count('mta-sts.redirect.test')).toBe(1);
    expect(server.count('mta-sts.dest.test')).toBe(destRequests);
  });

  it('refuses a policy served with another content type', async () => {
    publish('wrongtype.test', 'w1');
    server.replies.set('mta-sts.wrongtype.test', {
      ...policyReply(ENFORCE),
      headers: { 'content-type': 'text/html' },
    });
    expect(await resolver().policyFor('wrongtype.test')).toBeUndefined();
    expect(server.count('mta-sts.wrongtype.test')).toBe(1);
  });

  it('refuses an invalid policy file and caches nothing', async () => {
    publish('invalid.test', 'i1');
    server.replies.set('mta-sts.invalid.test', policyReply('version: STSv1\nmode: enforce\nmax_age: 60\n'));
    expect(await resolver().policyFor('invalid.test')).toBeUndefined();
    expect(await redis.exists(`${config.SER_QUEUE_PREFIX}:mtasts:invalid.test`)).toBe(0);
  });

  it('refuses a policy body larger than 64 KiB sent without Content-Length', async () => {
    publish('huge.test', 'h1');
    const body = ENFORCE + `x-padding: ${'x'.repeat(70 * 1024)}\n`;
    server.replies.set('mta-sts.huge.test', { ...policyReply(body), chunked: true });
    expect(await resolver().policyFor('huge.test')).toBeUndefined();

    // The same policy within the limit is accepted, so it was the size that was refused.
    publish('huge.test', 'h2');
    server.replies.set('mta-sts.huge.test', {
      ...policyReply(`${ENFORCE}x-padding: ${'x'.repeat(60 * 1024)}\n`),
      chunked: true,
    });
    expect(await resolver().policyFor('huge.test')).toMatchObject({ id: 'h2', mode: 'enforce' });
  });

  it('does not connect to a non-public address unless private MX hosts are allowed', async () => {
    publish('private.test', 'p1');
    server.replies.set('mta-sts.private.test', policyReply(ENFORCE));
    const before = server.connections;
    const strict = resolver(configWith({ SER_EGRESS_ALLOW_PRIVATE_MX: 'false' }));
    expect(await strict.policyFor('private.test')).toBeUndefined();
    expect(server.connections).toBe(before);
    expect(server.count('mta-sts.private.test')).toBe(0);
  });

  it('drops the cached policy when the domain withdraws it with mode none and max_age 0 (§8.3)', async () => {
    publish('zero.test', 'z1');
    server.replies.set('mta-sts.zero.test', policyReply(ENFORCE));
    const r = resolver();
    expect(await r.policyFor('zero.test')).toMatchObject({ id: 'z1', mode: 'enforce' });

    publish('zero.test', 'z2');
    server.replies.set('mta-sts.zero.test', policyReply('version: STSv1\nmode: none\nmax_age: 0\n'));
    expect(await r.policyFor('zero.test')).toMatchObject({ id: 'z2', mode: 'none', mx: [], maxAge: 0 });
    expect(await redis.exists(`${config.SER_QUEUE_PREFIX}:mtasts:zero.test`)).toBe(0);

    // Nothing cached any more: once the policy host is gone, the old enforce policy does not come back.
    publish('zero.test', 'z3', '127.0.0.2');
    expect(await r.policyFor('zero.test')).toBeUndefined();
  });

  it('does nothing at all when MTA-STS is disabled', async () => {
    dns.clearQueries();
    const disabled = resolver(configWith({ SER_EGRESS_MTA_STS_ENABLED: 'false' }));
    expect(await disabled.policyFor('dest.test')).toBeUndefined();
    expect(dns.queries).toHaveLength(0);
  });

  it('gives no policy to a domain that publishes none, without any HTTPS request', async () => {
    const before = server.connections;
    expect(await resolver().policyFor('nothing.test')).toBeUndefined();
    expect(dns.queries.some((q) => q.name === '_mta-sts.nothing.test' && q.type === 'TXT')).toBe(true);
    expect(server.connections).toBe(before);
  });
});
