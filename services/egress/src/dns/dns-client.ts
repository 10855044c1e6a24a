import type { RelayConfig } from '@ser/config';
import { CONFIG } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import * as dnsPacket from 'dns-packet';
import type { Answer, DecodedPacket, Packet, Question } from 'dns-packet';
import { randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { getServers } from 'node:dns';
import { connect, isIPv6 } from 'node:net';
import { EgressMetrics } from '../metrics/egress-metrics';

/** SERVFAIL, REFUSED, timeout or network error: the same question may succeed later. */
export class DnsTemporaryError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DnsTemporaryError';
  }
}

/** NXDOMAIN: the name does not exist. */
export class DnsNotFoundError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'DnsNotFoundError';
  }
}

export interface DnsServer {
  host: string;
  port: number;
}

type QueryType = 'A' | 'AAAA' | 'MX' | 'TXT';

/** What one question resolved to; NODATA is an answer with no records. */
type Outcome = { kind: 'nxdomain' } | { kind: 'answer'; records: Answer[] };

interface Resolution {
  outcome: Outcome;
  /** How long the outcome may be cached, in seconds, before the configured cap. */
  ttlS: number;
}

const DNS_PORT = 53;
/** DNS flag day 2020: avoids IP fragmentation while leaving room for most answers. */
const EDNS_UDP_PAYLOAD = 1232;
const ATTEMPTS = 2;
const MAX_CACHE_ENTRIES = 10_000;
/** RFC 2308 §5 leaves the cap to the resolver; 5 minutes keeps a fixed typo from bouncing for long. */
const NEGATIVE_TTL_CAP_S = 300;
const NEGATIVE_TTL_DEFAULT_S = 60;
const MAX_CNAME_HOPS = 8;
const RCODE_NOERROR = 0;
const RCODE_NXDOMAIN = 3;
const RCODE_NAMES = ['NOERROR', 'FORMERR', 'SERVFAIL', 'NXDOMAIN', 'NOTIMP', 'REFUSED'];

/**
 * A stub resolver: asks the configured recursive resolvers (RD=1, EDNS0) over UDP, retries
 * truncated answers over TCP, and caches answers for their TTL and negative answers per RFC 2308.
 */
@Injectable()
export class DnsClient {
  private readonly servers: DnsServer[];
  private readonly timeoutMs: number;
  private readonly maxTtlS: number;
  private readonly cache = new Map<string, { outcome: Outcome; expiresAt: number }>();
  private readonly inFlight = new Map<string, Promise<Outcome>>();
  private hits = 0;
  private misses = 0;

  constructor(
    @Inject(CONFIG) config: RelayConfig,
    private readonly metrics: EgressMetrics = new EgressMetrics(),
  ) {
    const servers = config.SER_DNS_SERVERS.length > 0 ? config.SER_DNS_SERVERS : getServers();
    this.servers = servers.map(parseServer);
    this.timeoutMs = config.SER_DNS_TIMEOUT_MS;
    this.maxTtlS = config.SER_DNS_CACHE_MAX_TTL_S;
  }

  /** MX records; exchange is lower-case without the trailing dot, `''` for a null MX (RFC 7505). */
  async mx(name: string): Promise<{ exchange: string; priority: number }[]> {
    return (await this.resolve(name, 'MX')).flatMap((record) =>
      record.type === 'MX'
        ? [{ exchange: normalizeName(record.data.exchange), priority: record.data.preference ?? 0 }]
        : [],
    );
  }

  async a(name: string): Promise<string[]> {
    return stringData(await this.resolve(name, 'A'));
  }

  async aaaa(name: string): Promise<string[]> {
    return stringData(await this.resolve(name, 'AAAA'));
  }

  /** One string per TXT record, its character-strings concatenated (as SPF and DKIM read them). */
  async txt(name: string): Promise<string[]> {
    return (await this.resolve(name, 'TXT')).flatMap((record) =>
      record.type === 'TXT' ? [joinTxt(record.data)] : [],
    );
  }

  /** Cache hits (including joins of an identical query in flight) and misses since start. */
  stats(): { hits: number; misses: number } {
    return { hits: this.hits, misses: this.misses };
  }

  private async resolve(name: string, type: QueryType): Promise<Answer[]> {
    const qname = normalizeName(name);
    const key = `${type} ${qname}`;
    const outcome = this.cached(key) ?? (await this.shared(key, qname, type));
    if (outcome.kind === 'nxdomain') {
      throw new DnsNotFoundError(`${qname} does not exist (NXDOMAIN)`);
    }
    return outcome.records;
  }

  private cached(key: string): Outcome | undefined {
    const entry = this.cache.get(key);
    if (entry !== undefined && entry.expiresAt > Date.now()) {
      this.hits++;
      this.metrics.dnsLookup('hit');
      return entry.outcome;
    }
    this.cache.delete(key);
    return undefined;
  }

  private shared(key: string, qname: string, type: QueryType): Promise<Outcome> {
    const pending = this.inFlight.get(key);
    if (pending !== undefined) {
      this.hits++;
      this.metrics.dnsLookup('hit');
      return pending;
    }
    this.misses++;
    this.metrics.dnsLookup('miss');
    const query = this.query({ name: qname, type, class: 'IN' })
      .then(({ outcome, ttlS }) => {
        this.store(key, outcome, ttlS);
        return outcome;
      })
      .finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, query);
    return query;
  }

  private store(key: string, outcome: Outcome, ttlS: number): void {
    const ttl = Math.min(ttlS, this.maxTtlS);
    if (ttl <= 0) {
      return;
    }
    this.cache.delete(key);
    this.cache.set(key, { outcome, expiresAt: Date.now() + ttl * 1000 });
    if (this.cache.size > MAX_CACHE_ENTRIES) {
      // A Map iterates in insertion order, so the first key is the oldest entry.
      const oldest = this.cache.keys().next();
      if (oldest.done !== true) {
        this.cache.delete(oldest.value);
      }
    }
  }

  /** Like resolv.conf: every server in turn, then the whole list once more. */
  private async query(question: Question): Promise<Resolution> {
    let lastError: unknown = new Error('no DNS server configured');
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      for (const server of this.servers) {
        try {
          const response = await exchange(server, question, this.timeoutMs);
          const rcode = (response.flags ?? 0) & 0xf;
          if (rcode === RCODE_NOERROR || rcode === RCODE_NXDOMAIN) {
            return interpret(response, question);
          }
          lastError = new Error(`${formatServer(server)} answered ${RCODE_NAMES[rcode] ?? `RCODE ${rcode}`}`);
        } catch (error) {
          lastError = error;
        }
      }
    }
    throw new DnsTemporaryError(`${question.type} ${question.name}: no DNS server answered`, {
      cause: lastError,
    });
  }
}

/** Parses `host`, `host:port`, `[v6]:port` or a bare IPv6 address (as `dns.getServers()` lists it). */
export function parseServer(entry: string): DnsServer {
  const bracketed = /^\[([^\]]+)\](?::(\d+))?$/.exec(entry);
  if (bracketed !== null) {
    return { host: bracketed[1] ?? '', port: Number(bracketed[2] ?? DNS_PORT) };
  }
  if (isIPv6(entry)) {
    return { host: entry, port: DNS_PORT };
  }
  const [host = '', port] = entry.split(':');
  return { host, port: port === undefined ? DNS_PORT : Number(port) };
}

/**
 * The records of the asked type, following the CNAME chain the recursive resolver already put
 * in the answer section; the TTL is the smallest along the chain.
 */
export function followChain(
  answers: readonly Answer[],
  question: Question,
): { records: Answer[]; ttlS: number } {
  let owner = normalizeName(question.name);
  let ttlS = Number.POSITIVE_INFINITY;
  for (let hop = 0; hop <= MAX_CNAME_HOPS; hop++) {
    const records = answers.filter((a) => a.type === question.type && normalizeName(a.name) === owner);
    if (records.length > 0) {
      return { records, ttlS: Math.min(ttlS, ...records.map((r) => ('ttl' in r ? (r.ttl ?? 0) : 0))) };
    }
    const alias = answers.find((a) => a.type === 'CNAME' && normalizeName(a.name) === owner);
    if (alias?.type !== 'CNAME') {
      break;
    }
    ttlS = Math.min(ttlS, alias.ttl ?? 0);
    owner = normalizeName(alias.data);
  }
  return { records: [], ttlS: 0 };
}

/** RFC 2308 §5: a negative answer lives for min(SOA TTL, SOA MINIMUM) from the authority section. */
export function negativeTtl(response: Packet): number {
  const soa = response.authorities?.find((record) => record.type === 'SOA');
  if (soa?.type !== 'SOA') {
    return NEGATIVE_TTL_DEFAULT_S;
  }
  return Math.min(soa.ttl ?? 0, soa.data.minimum ?? 0, NEGATIVE_TTL_CAP_S);
}

function interpret(response: DecodedPacket, question: Question): Resolution {
  if (((response.flags ?? 0) & 0xf) === RCODE_NXDOMAIN) {
    return { outcome: { kind: 'nxdomain' }, ttlS: negativeTtl(response) };
  }
  const { records, ttlS } = followChain(response.answers ?? [], question);
  return { outcome: { kind: 'answer', records }, ttlS: records.length > 0 ? ttlS : negativeTtl(response) };
}

function normalizeName(name: string): string {
  return name.trim().replace(/\.$/, '').toLowerCase();
}

function stringData(records: readonly Answer[]): string[] {
  return records.flatMap((record) => (record.type === 'A' || record.type === 'AAAA' ? [record.data] : []));
}

function joinTxt(data: string | Buffer | (string | Buffer)[]): string {
  const parts = Array.isArray(data) ? data : [data];
  return Buffer.concat(parts.map((part) => (typeof part === 'string' ? Buffer.from(part) : part))).toString();
}

function formatServer({ host, port }: DnsServer): string {
  return `${isIPv6(host) ? `[${host}]` : host}:${port}`;
}

/** One question to one server: UDP first, TCP when the answer was truncated (RFC 7766 §5). */
async function exchange(server: DnsServer, question: Question, timeoutMs: number): Promise<DecodedPacket> {
  // A random ID and the echoed question make off-path spoofing a guessing game (RFC 5452 §9.1).
  const id = randomInt(0, 0x10000);
  const wire = dnsPacket.encode({
    type: 'query',
    id,
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [question],
    additionals: [
      {
        type: 'OPT',
        name: '.',
        udpPayloadSize: EDNS_UDP_PAYLOAD,
        extendedRcode: 0,
        ednsVersion: 0,
        flags: 0,
        flag_do: false,
        options: [],
      },
    ],
  });
  const answers = (packet: DecodedPacket): boolean => isAnswerTo(packet, id, question);
  const response = await overUdp(server, wire, answers, timeoutMs);
  return response.flag_tc ? overTcp(server, wire, answers, timeoutMs) : response;
}

function isAnswerTo(packet: DecodedPacket, id: number, question: Question): boolean {
  const echoed = packet.questions ?? [];
  const [first] = echoed;
  return (
    packet.type === 'response' &&
    packet.id === id &&
    echoed.length === 1 &&
    first?.type === question.type &&
    (first.class ?? 'IN') === question.class &&
    normalizeName(first.name) === normalizeName(question.name)
  );
}

function decodeOrUndefined(wire: Buffer): DecodedPacket | undefined {
  try {
    return dnsPacket.decode(wire);
  } catch {
    return undefined;
  }
}

function overUdp(
  server: DnsServer,
  wire: Buffer,
  accept: (packet: DecodedPacket) => boolean,
  timeoutMs: number,
): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    // A fresh socket per query gets a random source port; connecting it drops other senders.
    const socket = createSocket(isIPv6(server.host) ? 'udp6' : 'udp4');
    let settled = false;
    const settle = (finish: () => void): void => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        socket.close();
        finish();
      }
    };
    const timer = setTimeout(() => {
      settle(() => reject(new Error(`${formatServer(server)} timed out after ${timeoutMs} ms`)));
    }, timeoutMs);
    socket.on('error', (error) => settle(() => reject(error)));
    socket.on('message', (message) => {
      // Late, spoofed or garbled datagrams are ignored; the real answer may still come.
      const packet = decodeOrUndefined(message);
      if (packet !== undefined && accept(packet)) {
        settle(() => resolve(packet));
      }
    });
    // The callback carries the error when the server's host name does not resolve.
    socket.connect(server.port, server.host, (connectError?: Error) => {
      if (connectError) {
        settle(() => reject(connectError));
        return;
      }
      socket.send(wire, (error) => {
        if (error) {
          settle(() => reject(error));
        }
      });
    });
  });
}

function overTcp(
  server: DnsServer,
  wire: Buffer,
  accept: (packet: DecodedPacket) => boolean,
  timeoutMs: number,
): Promise<DecodedPacket> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: server.host, port: server.port });
    let received = Buffer.alloc(0);
    let settled = false;
    const settle = (finish: () => void): void => {
      if (!settled) {
        settled = true;
        clearTimeout(timer);
        socket.destroy();
        finish();
      }
    };
    const timer = setTimeout(() => {
      settle(() => reject(new Error(`${formatServer(server)} timed out after ${timeoutMs} ms (TCP)`)));
    }, timeoutMs);
    socket.on('error', (error) => settle(() => reject(error)));
    socket.on('close', () => settle(() => reject(new Error(`${formatServer(server)} closed TCP early`))));
    // RFC 1035 §4.2.2: each TCP message is prefixed with its two-octet length.
    socket.on('connect', () => socket.write(Buffer.concat([lengthPrefix(wire.length), wire])));
    socket.on('data', (chunk: Buffer) => {
      received = Buffer.concat([received, chunk]);
      if (received.length < 2 || received.length < 2 + received.readUInt16BE(0)) {
        return;
      }
      const packet = decodeOrUndefined(received.subarray(2, 2 + received.readUInt16BE(0)));
      settle(() =>
        packet !== undefined && accept(packet)
          ? resolve(packet)
          : reject(new Error(`${formatServer(server)} sent a TCP answer to another question`)),
      );
    });
  });
}

function lengthPrefix(length: number): Buffer {
  const prefix = Buffer.alloc(2);
  prefix.writeUInt16BE(length, 0);
  return prefix;
}
