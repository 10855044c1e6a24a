import { SMTPServer, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server';
import type { Socket } from 'node:net';
import { waitFor } from './wait-for';

export interface SmtpReply {
  /** 4xx = transient (the sender should retry), 5xx = permanent (RFC 5321 §4.2.1). */
  code: number;
  message: string;
}

/** Decides the reply to one RCPT TO; undefined (or a 2xx code) accepts the recipient. */
export type RcptReplyFn = (rcpt: string, mailFrom: string) => SmtpReply | undefined;

/** Decides the reply after DATA; undefined (or 2xx) accepts and records the message. */
export type DataReplyFn = (message: ReceivedMessage) => SmtpReply | undefined;

export interface SmtpSinkOptions {
  host?: string;
  port?: number;
  /** When given, STARTTLS is offered with this key/cert; otherwise the sink is plain text only. */
  tls?: { key: string | Buffer; cert: string | Buffer };
  /** Name in the greeting and EHLO reply (default `mx.sink.test`). */
  hostname?: string;
  reply?: RcptReplyFn;
  dataReply?: DataReplyFn;
  /** Advertised SIZE (RFC 1870) and enforced limit; default 30 MB. */
  maxMessageBytes?: number;
  /** Require SMTP AUTH (PLAIN/LOGIN, only after STARTTLS: give `tls` too), as a smarthost does. */
  auth?: { username: string; password: string };
  /** EHLO keywords not to advertise (a receiver without SMTPUTF8 or 8BITMIME). */
  hide?: readonly ('8BITMIME' | 'SMTPUTF8' | 'PIPELINING')[];
}

/** Holds replies back, e.g. to kill a client mid-transaction or let it time out after the final dot. */
export interface SinkDelays {
  rcptMs?: number;
  /** After the whole message arrived, before the reply to the final dot. */
  dataMs?: number;
}

export interface ReceivedMessage {
  envelope: { mailFrom: string; rcptTo: string[] };
  /** The message exactly as received after dot-unstuffing (RFC 5321 §4.5.2). */
  raw: Buffer;
  /** True when the transaction ran over STARTTLS. */
  tls: boolean;
  receivedAt: Date;
  /** The EHLO/HELO name the client gave. */
  heloName: string;
  /** The client's address, e.g. the source address it bound to. */
  remoteAddress: string;
  /** The user name the client authenticated as, with the `auth` option. */
  authUser?: string;
}

export interface SmtpRejection {
  stage: 'RCPT' | 'DATA';
  mailFrom: string;
  rcptTo: string[];
  code: number;
  message: string;
  at: Date;
}

export interface SmtpSink {
  readonly host: string;
  readonly port: number;
  /** Accepted messages, oldest first. */
  readonly messages: readonly ReceivedMessage[];
  /** Scripted rejections that were sent, oldest first (to assert retries happened). */
  readonly rejections: readonly SmtpRejection[];
  /** Connection errors (e.g. a client reset) and reply-function failures, kept instead of crashing the test. */
  readonly errors: readonly Error[];
  setReply(fn: RcptReplyFn | undefined): void;
  setDataReply(fn: DataReplyFn | undefined): void;
  setDelays(delays: SinkDelays): void;
  /** TCP connections accepted so far, and the most open at one time. */
  readonly connections: { total: number; open: number; maxOpen: number };
  /** Messages whose final dot arrived, counted before the reply (which a delay may hold back). */
  readonly dataEnds: number;
  /** Resolves with all messages once at least `count` arrived; rejects listing what did arrive. */
  waitForMessages(count: number, timeoutMs?: number): Promise<ReceivedMessage[]>;
  clear(): void;
  close(): Promise<void>;
}

const DEFAULT_MAX_MESSAGE_BYTES = 30 * 1024 * 1024;
const DEFAULT_WAIT_MS = 10_000;
/** Pooled clients keep connections open; do not wait smtp-server's default 30 s on close. */
const CLOSE_TIMEOUT_MS = 200;

class RunningSmtpSink implements SmtpSink {
  readonly messages: ReceivedMessage[] = [];
  readonly rejections: SmtpRejection[] = [];
  readonly errors: Error[] = [];
  readonly connections = { total: 0, open: 0, maxOpen: 0 };
  dataEnds = 0;
  private delays: SinkDelays = {};
  private closing: Promise<void> | undefined;
  private readonly server: SMTPServer;

  constructor(
    readonly host: string,
    private readonly options: SmtpSinkOptions,
  ) {
    this.server = new SMTPServer(this.serverOptions());
    this.server.on('error', (error: Error) => this.errors.push(error));
    this.server.server.on('connection', (socket: Socket) => {
      this.connections.total += 1;
      this.connections.open += 1;
      this.connections.maxOpen = Math.max(this.connections.maxOpen, this.connections.open);
      socket.once('close', () => {
        this.connections.open -= 1;
      });
    });
  }

  get port(): number {
    const address = this.server.server.address();
    return address && typeof address === 'object' ? address.port : 0;
  }

  listen(port: number): Promise<this> {
    return new Promise((resolve, reject) => {
      this.server.server.once('error', reject);
      this.server.listen(port, this.host, () => {
        this.server.server.off('error', reject);
        resolve(this);
      });
    });
  }

  setReply(fn: RcptReplyFn | undefined): void {
    this.options.reply = fn;
  }

  setDataReply(fn: DataReplyFn | undefined): void {
    this.options.dataReply = fn;
  }

  setDelays(delays: SinkDelays): void {
    this.delays = { ...delays };
  }

  async waitForMessages(count: number, timeoutMs = DEFAULT_WAIT_MS): Promise<ReceivedMessage[]> {
    return waitFor(() => (this.messages.length >= count ? [...this.messages] : undefined), {
      timeoutMs,
      description: () => `${count} message(s) at SMTP sink ${this.host}:${this.port}; ${this.describe()}`,
    });
  }

  clear(): void {
    this.messages.length = 0;
    this.rejections.length = 0;
    this.errors.length = 0;
    this.connections.total = this.connections.open;
    this.connections.maxOpen = this.connections.open;
  }

  close(): Promise<void> {
    this.closing ??= new Promise((resolve) => this.server.close(() => resolve()));
    return this.closing;
  }

  private serverOptions(): ConstructorParameters<typeof SMTPServer>[0] {
    const tls = this.options.tls;
    return {
      name: this.options.hostname ?? 'mx.sink.test',
      // A receiving MX takes mail from anyone: no AUTH (RFC 5321 §3.3), STARTTLS only with a cert.
      // With `auth` the sink is a smarthost instead: AUTH required.
      authOptional: this.options.auth === undefined,
      disabledCommands: [...(this.options.auth === undefined ? ['AUTH'] : []), ...(tls ? [] : ['STARTTLS'])],
      authMethods: ['PLAIN', 'LOGIN'],
      onAuth: (auth, _session, callback) => {
        const expected = this.options.auth;
        if (
          expected !== undefined &&
          auth.username === expected.username &&
          auth.password === expected.password
        ) {
          callback(null, { user: auth.username });
        } else {
          callback(
            Object.assign(new Error('5.7.8 Authentication credentials invalid'), { responseCode: 535 }),
          );
        }
      },
      hide8BITMIME: this.options.hide?.includes('8BITMIME') ?? false,
      hideSMTPUTF8: this.options.hide?.includes('SMTPUTF8') ?? false,
      hidePIPELINING: this.options.hide?.includes('PIPELINING') ?? false,
      ...(tls ? { key: tls.key, cert: tls.cert } : {}),
      size: this.options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES,
      disableReverseLookup: true,
      logger: false,
      closeTimeout: CLOSE_TIMEOUT_MS,
      onRcptTo: (address, session, callback) => {
        const reply = (): void => callback(this.guard(() => this.checkRecipient(address.address, session)));
        if (this.delays.rcptMs === undefined) {
          reply();
        } else {
          setTimeout(reply, this.delays.rcptMs);
        }
      },
      onData: (stream, session, callback) => {
        this.receive(stream, session).then(callback, (error: unknown) =>
          callback(
            this.guard(() => {
              throw error;
            }),
          ),
        );
      },
    };
  }

  /** A throwing reply function is a test bug: answer 451 (so nothing hangs) and keep the error. */
  private guard(fn: () => Error | null): Error | null {
    try {
      return fn();
    } catch (error) {
      const cause = error instanceof Error ? error : new Error(String(error));
      this.errors.push(cause);
      return smtpError({ code: 451, message: `SMTP sink reply function failed: ${cause.message}` });
    }
  }

  private checkRecipient(rcpt: string, session: SMTPServerSession): Error | null {
    const mailFrom = senderOf(session);
    const reply = this.options.reply?.(rcpt, mailFrom);
    if (!isRejection(reply)) return null;
    this.rejections.push({ stage: 'RCPT', mailFrom, rcptTo: [rcpt], ...reply, at: new Date() });
    return smtpError(reply);
  }

  private async receive(stream: SMTPServerDataStream, session: SMTPServerSession): Promise<Error | null> {
    const chunks: Buffer[] = [];
    for await (const chunk of stream) chunks.push(chunk as Buffer);
    this.dataEnds += 1;
    const dataMs = this.delays.dataMs;
    if (dataMs !== undefined) {
      await new Promise((resolve) => setTimeout(resolve, dataMs));
    }
    if (stream.sizeExceeded) {
      // RFC 1870 §6.3 / RFC 5321 §4.5.3.1.10: 552 for a message over the declared SIZE.
      return smtpError({ code: 552, message: 'Message exceeds fixed maximum message size' });
    }
    const message: ReceivedMessage = {
      envelope: { mailFrom: senderOf(session), rcptTo: session.envelope.rcptTo.map((r) => r.address) },
      raw: Buffer.concat(chunks),
      tls: session.secure,
      receivedAt: new Date(),
      heloName: session.hostNameAppearsAs || '',
      remoteAddress: session.remoteAddress,
      ...(typeof session.user === 'string' ? { authUser: session.user } : {}),
    };
    const reply = this.options.dataReply?.(message);
    if (isRejection(reply)) {
      const { mailFrom, rcptTo } = message.envelope;
      this.rejections.push({ stage: 'DATA', mailFrom, rcptTo, ...reply, at: new Date() });
      return smtpError(reply);
    }
    this.messages.push(message);
    return null;
  }

  private describe(): string {
    const received = this.messages.map((m, i) => `  #${i + 1} ${summarize(m)}`);
    const rejected = this.rejections.map((r) => `  ${r.stage} ${r.code} <${r.rcptTo.join('>, <')}>`);
    return [
      `received ${this.messages.length}${received.length ? ':' : ''}`,
      ...received,
      ...(rejected.length ? [`rejections ${rejected.length}:`, ...rejected] : []),
    ].join('\n');
  }
}

/** Starts a receiving MX on loopback that records every accepted message. */
export async function startSmtpSink(options: SmtpSinkOptions = {}): Promise<SmtpSink> {
  const sink = new RunningSmtpSink(options.host ?? '127.0.0.1', { ...options });
  return sink.listen(options.port ?? 0);
}

/** The null reverse-path `MAIL FROM:<>` (RFC 5321 §4.5.5, used by bounces) is recorded as ''. */
function senderOf(session: SMTPServerSession): string {
  return session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
}

function isRejection(reply: SmtpReply | undefined): reply is SmtpReply {
  if (!reply) return false;
  if (!Number.isInteger(reply.code) || reply.code < 200 || reply.code > 599) {
    throw new Error(`Scripted SMTP reply code must be 2xx-5xx, got ${reply.code}`);
  }
  return reply.code >= 400;
}

/** smtp-server turns `responseCode` into the reply code and the message into its text. */
function smtpError(reply: SmtpReply): Error {
  return Object.assign(new Error(reply.message), { responseCode: reply.code });
}

function summarize(message: ReceivedMessage): string {
  const subject = /^subject:[ \t]*(.*)$/im.exec(headerSection(message.raw))?.[1]?.trim() ?? '';
  const { mailFrom, rcptTo } = message.envelope;
  return `from <${mailFrom}> to <${rcptTo.join('>, <')}> ${message.raw.length} bytes tls=${message.tls} subject="${subject}"`;
}

function headerSection(raw: Buffer): string {
  const text = raw.subarray(0, 64 * 1024).toString('utf8');
  const end = text.search(/\r?\n\r?\n/);
  return end === -1 ? text : text.slice(0, end);
}
