import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, type Server, type Socket } from 'node:net';
import { frameForTcp, respond, type DnsQueryLogEntry, type DnsTransport } from './dns-responder';
import { DnsZone, type DnsRecordData, type DnsRecordOptions, type DnsRecordType } from './dns-zone';

export interface DnsServerOptions {
  /** Loopback by default; an IPv6 literal binds udp6. */
  host?: string;
  /** 0 (default) picks a port that is free for both UDP and TCP. */
  port?: number;
  /** Default TTL in seconds for records set without one (default 60). */
  ttl?: number;
  /**
   * Largest UDP response we send to EDNS clients (default 1232, the DNS flag day 2020 value).
   * Set it to 512 to force truncation + TCP retry for anything larger than classic DNS allows.
   */
  maxUdpPayload?: number;
}

export interface TestDnsServer {
  /** `host:port` (`[v6]:port` for IPv6), usable in `dns.Resolver#setServers`. */
  readonly address: string;
  readonly host: string;
  readonly port: number;
  /** Every question received, oldest first. */
  readonly queries: readonly DnsQueryLogEntry[];
  /** Replaces the RRset of `type` at `name` (an empty array removes it). */
  set<T extends DnsRecordType>(
    name: string,
    type: T,
    records: readonly DnsRecordData[T][],
    options?: DnsRecordOptions,
  ): void;
  /** Appends to the RRset of `type` at `name`. */
  add<T extends DnsRecordType>(
    name: string,
    type: T,
    records: readonly DnsRecordData[T][],
    options?: DnsRecordOptions,
  ): void;
  /** Removes one RRset, or the whole name when `type` is omitted. */
  remove(name: string, type?: DnsRecordType): void;
  /** Removes all records (the query log is kept; see clearQueries). */
  clear(): void;
  clearQueries(): void;
  close(): Promise<void>;
}

const DEFAULT_TTL = 60;
const DEFAULT_MAX_UDP_PAYLOAD = 1232;
const BIND_ATTEMPTS = 10;
/** RFC 7766 §6.2.3: servers may close idle TCP connections; tests never need long ones. */
const TCP_IDLE_TIMEOUT_MS = 10_000;

type Handler = (wire: Buffer, transport: DnsTransport) => Buffer | undefined;

interface Listeners {
  udp: UdpSocket;
  tcp: Server;
  port: number;
}

class RunningDnsServer implements TestDnsServer {
  readonly queries: DnsQueryLogEntry[] = [];
  private readonly tcpSockets = new Set<Socket>();
  private listeners: Listeners | undefined;
  private closing: Promise<void> | undefined;

  constructor(
    readonly host: string,
    private readonly zone: DnsZone,
  ) {}

  get port(): number {
    return this.listeners?.port ?? 0;
  }

  get address(): string {
    return `${isIPv6(this.host) ? `[${this.host}]` : this.host}:${this.port}`;
  }

  async start(port: number, maxUdpPayload: number): Promise<this> {
    const handler: Handler = (wire, transport) =>
      respond({ zone: this.zone, maxUdpPayload, onQuery: (q) => this.queries.push(q) }, wire, transport);
    this.listeners = await bindBoth(this.host, port, handler, this.tcpSockets);
    return this;
  }

  set<T extends DnsRecordType>(
    name: string,
    type: T,
    records: readonly DnsRecordData[T][],
    options?: DnsRecordOptions,
  ): void {
    this.zone.set(name, type, records, options);
  }

  add<T extends DnsRecordType>(
    name: string,
    type: T,
    records: readonly DnsRecordData[T][],
    options?: DnsRecordOptions,
  ): void {
    this.zone.add(name, type, records, options);
  }

  remove(name: string, type?: DnsRecordType): void {
    this.zone.remove(name, type);
  }

  clear(): void {
    this.zone.clear();
  }

  clearQueries(): void {
    this.queries.length = 0;
  }

  close(): Promise<void> {
    this.closing ??= closeListeners(this.listeners, this.tcpSockets);
    return this.closing;
  }
}

/** Starts an authoritative DNS server answering over UDP and TCP on the same port. */
export async function startDnsServer(options: DnsServerOptions = {}): Promise<TestDnsServer> {
  const maxUdpPayload = options.maxUdpPayload ?? DEFAULT_MAX_UDP_PAYLOAD;
  if (!Number.isInteger(maxUdpPayload) || maxUdpPayload < 512 || maxUdpPayload > 65535) {
    throw new Error(`maxUdpPayload must be an integer in 512..65535, got ${maxUdpPayload}`);
  }
  const server = new RunningDnsServer(options.host ?? '127.0.0.1', new DnsZone(options.ttl ?? DEFAULT_TTL));
  return server.start(options.port ?? 0, maxUdpPayload);
}

/**
 * Resolvers retry truncated answers over TCP on the same address and port
 * (RFC 7766 §5), so both must be bound to one port. With port 0 the UDP port
 * is picked first and retried if TCP finds it taken.
 */
async function bindBoth(
  host: string,
  port: number,
  handler: Handler,
  sockets: Set<Socket>,
): Promise<Listeners> {
  let lastError: unknown;
  for (let attempt = 0; attempt < (port === 0 ? BIND_ATTEMPTS : 1); attempt++) {
    const udp = await bindUdp(host, port, handler);
    const udpPort = udp.address().port;
    try {
      const tcp = await bindTcp(host, udpPort, handler, sockets);
      return { udp, tcp, port: udpPort };
    } catch (error) {
      lastError = error;
      await new Promise<void>((resolve) => udp.close(() => resolve()));
    }
  }
  throw new Error(`Could not bind DNS TCP listener on ${host}:${port}: ${String(lastError)}`);
}

function bindUdp(host: string, port: number, handler: Handler): Promise<UdpSocket> {
  const udp = createSocket(isIPv6(host) ? 'udp6' : 'udp4');
  udp.on('message', (message, remote) => {
    const reply = handler(message, 'udp');
    if (reply) udp.send(reply, remote.port, remote.address);
  });
  return new Promise((resolve, reject) => {
    udp.once('error', reject);
    udp.bind(port, host, () => {
      udp.off('error', reject);
      // A send failure to one client must not crash the test process.
      udp.on('error', () => undefined);
      resolve(udp);
    });
  });
}

function bindTcp(host: string, port: number, handler: Handler, sockets: Set<Socket>): Promise<Server> {
  const tcp = createServer((socket) => serveTcpConnection(socket, handler, sockets));
  return new Promise((resolve, reject) => {
    tcp.once('error', reject);
    tcp.listen(port, host, () => {
      tcp.off('error', reject);
      resolve(tcp);
    });
  });
}

/** RFC 7766 §6.2.1: a connection may carry several length-prefixed queries (pipelining). */
function serveTcpConnection(socket: Socket, handler: Handler, sockets: Set<Socket>): void {
  sockets.add(socket);
  let pending = Buffer.alloc(0);
  socket.setTimeout(TCP_IDLE_TIMEOUT_MS, () => socket.destroy());
  socket.on('error', () => socket.destroy());
  socket.on('close', () => sockets.delete(socket));
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 2) {
      const length = pending.readUInt16BE(0);
      if (pending.length < 2 + length) return;
      const reply = handler(pending.subarray(2, 2 + length), 'tcp');
      pending = pending.subarray(2 + length);
      if (reply) socket.write(frameForTcp(reply));
    }
  });
}

async function closeListeners(listeners: Listeners | undefined, sockets: Set<Socket>): Promise<void> {
  if (!listeners) return;
  for (const socket of sockets) socket.destroy();
  await Promise.all([
    new Promise<void>((resolve) => listeners.udp.close(() => resolve())),
    new Promise<void>((resolve) => listeners.tcp.close(() => resolve())),
  ]);
}
