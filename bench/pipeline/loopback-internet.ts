import { freePort, generateSelfSignedCert, startDnsServer, startSmtpSink } from '@ser/testing';
import type { ReceivedMessage, SmtpSink, TestDnsServer } from '@ser/testing';
import { performance } from 'node:perf_hooks';

/** The header the load generator stamps on every message, to match it at the sink. */
export const SEQUENCE_HEADER = 'X-Bench-Seq';

/** One message as a sink MX received it. */
export interface Receipt {
  sequence: string;
  /** performance.now() when the final dot arrived. */
  at: number;
  /** The message carries a DKIM-Signature of the sending domain. */
  signed: boolean;
}

export interface LoopbackInternetOptions {
  /** Recipient domains (`rcpt1.bench.test` …), spread over the MX hosts. */
  domains: number;
  /** Sink MX hosts, each on its own loopback address (127.0.0.2, 127.0.0.3, …), one port for all. */
  mxHosts: number;
  /** The domain whose DKIM signature every delivered message must carry. */
  signingDomain: string;
  onReceipt(receipt: Receipt): void;
}

/** DNS and recipients' MX hosts on loopback: what egress sees as the Internet. */
export interface LoopbackInternet {
  dns: TestDnsServer;
  /** The port of every sink (egress's SER_EGRESS_PORT). */
  mxPort: number;
  recipientDomains: readonly string[];
  /** Connection and protocol errors the sinks saw. */
  errors(): number;
  close(): Promise<void>;
}

const TTL_S = 3600;
/** The sinks keep every message they accept; the receipts are all the benchmark needs. */
const FORGET_EVERY_MS = 1000;

/**
 * Starts a DNS server and the sink MX hosts (smtp-server with STARTTLS, as a receiving MX offers
 * it), and publishes an MX record for each recipient domain. Linux routes all of 127.0.0.0/8 to
 * loopback, so the sinks listen on distinct addresses and one port, the only port egress knows.
 */
export async function startLoopbackInternet(options: LoopbackInternetOptions): Promise<LoopbackInternet> {
  const dns = await startDnsServer({ ttl: TTL_S });
  const sinks: SmtpSink[] = [];
  try {
    const tls = generateSelfSignedCert({ commonName: 'mx.bench.test' });
    const dkimMark = `d=${options.signingDomain}`;
    const dataReply = (message: ReceivedMessage): undefined => {
      const receipt = readReceipt(message.raw, dkimMark);
      if (receipt !== undefined) {
        options.onReceipt(receipt);
      }
      return undefined;
    };
    const mxPort = await listenAll(options.mxHosts, sinks, (host, port) =>
      startSmtpSink({ host, port, tls, hostname: `mx.${host}`, dataReply }),
    );
    let errors = 0;
    const forget = setInterval(() => {
      for (const sink of sinks) {
        errors += sink.errors.length;
        sink.clear();
      }
    }, FORGET_EVERY_MS);
    const recipientDomains: string[] = [];
    for (let i = 0; i < options.mxHosts; i += 1) {
      dns.set(`mx${String(i + 1)}.bench.test`, 'A', [`127.0.0.${String(i + 2)}`]);
    }
    for (let i = 0; i < options.domains; i += 1) {
      const domain = `rcpt${String(i + 1)}.bench.test`;
      const mx = `mx${String((i % options.mxHosts) + 1)}.bench.test`;
      dns.set(domain, 'MX', [{ preference: 10, exchange: mx }]);
      recipientDomains.push(domain);
    }
    return {
      dns,
      mxPort,
      recipientDomains,
      errors: () => errors + sinks.reduce((n, s) => n + s.errors.length, 0),
      close: async () => {
        clearInterval(forget);
        errors += sinks.reduce((n, s) => n + s.errors.length, 0);
        await Promise.all([...sinks.map((s) => s.close()), dns.close()]);
      },
    };
  } catch (error) {
    await Promise.all([...sinks.map((s) => s.close()), dns.close()]);
    throw error;
  }
}

/** Finds a port free on every sink address (127.0.0.2 …) and starts a sink on each, into `sinks`. */
async function listenAll(
  hosts: number,
  sinks: SmtpSink[],
  start: (host: string, port: number) => Promise<SmtpSink>,
): Promise<number> {
  for (let attempt = 0; ; attempt += 1) {
    const port = await freePort();
    try {
      for (let i = 0; i < hosts; i += 1) {
        sinks.push(await start(`127.0.0.${String(i + 2)}`, port));
      }
      return port;
    } catch (error) {
      await Promise.all(sinks.splice(0).map((s) => s.close()));
      if (attempt >= 5 || (error as NodeJS.ErrnoException).code !== 'EADDRINUSE') {
        throw error;
      }
    }
  }
}

/** The sequence header and whether the sending domain signed it, from the header block only. */
function readReceipt(raw: Buffer, dkimMark: string): Receipt | undefined {
  const at = performance.now();
  const end = raw.indexOf('\r\n\r\n');
  const header = raw.subarray(0, end === -1 ? Math.min(raw.length, 65536) : end).toString('latin1');
  const sequence = new RegExp(`^${SEQUENCE_HEADER}:[ \\t]*(\\S+)`, 'im').exec(header)?.[1];
  if (sequence === undefined) {
    return undefined;
  }
  const signature = /^DKIM-Signature:(.*(?:\r\n[ \t].*)*)/im.exec(header)?.[1] ?? '';
  const signed = `;${signature.replace(/\s+/g, '')};`.includes(`;${dkimMark};`);
  return { sequence, at, signed };
}
