import { createTransport } from 'nodemailer';
import type { Transporter } from 'nodemailer';
import type SMTPPool from 'nodemailer/lib/smtp-pool';
import { performance } from 'node:perf_hooks';
import type { Readable } from 'node:stream';
import { SEQUENCE_HEADER } from './loopback-internet';
import type { OutgoingMail } from './mail-factory';

/** How one submission ended, as the client saw it. */
export interface Submission {
  sequence: string;
  bytes: number;
  /** performance.now() when the message was handed to the client. */
  submittedAt: number;
  /** When the client had written the whole message (before its final dot). */
  endOfDataAt?: number;
  /** When the reply to the final dot (or the failure) arrived. */
  completedAt: number;
  /** The SMTP reply code, if the relay answered one. */
  code?: number;
  /** The relay's message id from `250 … queued as <id>`. */
  queueId?: string;
  /** A failure without an SMTP reply (connection reset, timeout). */
  error?: string;
  /** The failure was the client giving up waiting (nodemailer `ETIMEDOUT`: no reply in time). */
  timedOut?: boolean;
}

export interface LoadGeneratorOptions {
  host: string;
  port: number;
  username: string;
  password: string;
  /** SMTP clients, each a nodemailer pool of one connection (a sending application's server). */
  clients: number;
  /** How long a client waits without a reply before it gives up (nodemailer `socketTimeout`). */
  socketTimeoutMs: number;
}

interface Client {
  transport: Transporter<SMTPPool.SentMessageInfo, SMTPPool.Options>;
  inFlight: number;
}

const SEQUENCE_PREFIX = `${SEQUENCE_HEADER}: `;

/**
 * Many SMTP clients submitting over STARTTLS with AUTH PLAIN, each over one pooled connection that
 * it reuses for every message (nodemailer's `pool`, `maxMessages: Infinity`), as a busy
 * application sends. A message goes to the client with the fewest messages waiting.
 */
export class LoadGenerator {
  private readonly clients: Client[];
  private readonly endOfData = new Map<string, number>();
  private pending = 0;

  constructor(
    options: LoadGeneratorOptions,
    private readonly onDone: (submission: Submission) => void,
  ) {
    this.clients = Array.from({ length: options.clients }, () => {
      const transport = createTransport({
        pool: true,
        maxConnections: 1,
        maxMessages: Infinity,
        host: options.host,
        port: options.port,
        requireTLS: true,
        auth: { user: options.username, pass: options.password },
        tls: { rejectUnauthorized: false },
        connectionTimeout: 30_000,
        greetingTimeout: 30_000,
        socketTimeout: options.socketTimeoutMs,
      });
      transport.use('stream', (mail, callback) => {
        const raw = typeof mail.data.raw === 'string' ? mail.data.raw : '';
        const sequence = raw.startsWith(SEQUENCE_PREFIX)
          ? raw.slice(SEQUENCE_PREFIX.length, raw.indexOf('\r\n'))
          : undefined;
        if (sequence !== undefined) {
          // 'end' fires once the connection has read the last byte of the message, just before it
          // writes the final dot: the client's end of data.
          mail.message.processFunc((stream: Readable) =>
            stream.once('end', () => this.endOfData.set(sequence, performance.now())),
          );
        }
        callback();
      });
      return { transport, inFlight: 0 };
    });
  }

  /** Messages handed to the clients and not answered yet. */
  get inFlight(): number {
    return this.pending;
  }

  send(mail: OutgoingMail): void {
    const client = this.clients.reduce((a, b) => (b.inFlight < a.inFlight ? b : a));
    const submittedAt = performance.now();
    client.inFlight += 1;
    this.pending += 1;
    const finish = (result: Pick<Submission, 'code' | 'queueId' | 'error' | 'timedOut'>): void => {
      client.inFlight -= 1;
      this.pending -= 1;
      const endOfDataAt = this.endOfData.get(mail.sequence);
      this.endOfData.delete(mail.sequence);
      this.onDone({
        sequence: mail.sequence,
        bytes: mail.bytes,
        submittedAt,
        ...(endOfDataAt === undefined ? {} : { endOfDataAt }),
        completedAt: performance.now(),
        ...result,
      });
    };
    client.transport.sendMail({ envelope: mail.envelope, raw: mail.raw }).then(
      (info) => {
        const response = info.response;
        finish({
          code: Number(response.slice(0, 3)),
          ...queueIdOf(response),
        });
      },
      (error: unknown) => finish(failureOf(error)),
    );
  }

  close(): void {
    for (const client of this.clients) {
      client.transport.close();
    }
  }
}

function queueIdOf(response: string): { queueId?: string } {
  const id = /queued as ([0-9a-zA-Z_-]+)/.exec(response)?.[1];
  return id === undefined ? {} : { queueId: id };
}

/** An SMTP refusal keeps its code; anything else (a reset, a timeout) is a client error. */
function failureOf(error: unknown): Pick<Submission, 'code' | 'error' | 'timedOut'> {
  const e = error as { responseCode?: unknown; code?: unknown };
  const message = error instanceof Error ? error.message : 'unknown failure';
  if (typeof e.responseCode === 'number') {
    return { code: e.responseCode, error: message };
  }
  return {
    error: `${typeof e.code === 'string' ? e.code : 'error'}: ${message}`,
    ...(e.code === 'ETIMEDOUT' ? { timedOut: true } : {}),
  };
}
