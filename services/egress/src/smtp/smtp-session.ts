import type { TlsPolicyName } from '@ser/config';
import SMTPConnection from 'nodemailer/lib/smtp-connection';
import type { Socket } from 'node:net';
import { TLSSocket } from 'node:tls';
import type { Readable } from 'node:stream';
import { PassThrough } from 'node:stream';
import { SmtpLineNormalizer } from './line-normalizer';

/** Where one connection goes and how (docs/egress.md § TLS). */
export interface SmtpEndpoint {
  /** The MX or smarthost name: SNI, certificate name check, MTA-STS matching. */
  host: string;
  address: string;
  port: number;
  tls: TlsPolicyName;
  localAddress?: string;
  auth?: { user: string; pass: string };
}

export interface SessionTimeouts {
  connectMs: number;
  greetingMs: number;
  commandMs: number;
  /** Whole DATA phase, message and final reply. */
  dataMs: number;
}

export interface TlsInfo {
  version: string;
  cipher: string;
  /** The certificate chains to a trusted CA and matches the host name. */
  authorized: boolean;
  authorizationError?: string;
}

export interface Reply {
  code: number;
  /** Without the leading code. */
  text: string;
}

export interface TransactionReplies {
  /** Per recipient, its reply: RCPT refusals, else the DATA reply. */
  recipients: Map<string, Reply>;
  /** The connection was lost, or timed out, after the whole message was sent: it may have arrived. */
  ambiguous: boolean;
  /** The replies came from the server; false when the connection failed without one. */
  serverReplied: boolean;
}

export class SmtpSessionError extends Error {
  constructor(
    message: string,
    readonly reply: Reply,
    /** The connection cannot be used any more. */
    readonly fatal: boolean,
    /** The code the server replied with, when a reply (not a lost connection) caused the failure. */
    readonly remoteCode?: number,
  ) {
    super(message);
    this.name = 'SmtpSessionError';
  }
}

type NodemailerError = Error & {
  code?: string;
  response?: string;
  responseCode?: number;
  recipient?: string;
};

/**
 * One SMTP client connection (nodemailer's SMTPConnection) that can carry several transactions:
 * opened with STARTTLS per the endpoint's policy, then `send` per message, `reset` in between.
 */
export class SmtpSession {
  private readonly connection: SMTPConnection;
  private failure: NodemailerError | undefined;
  private readonly waiters = new Set<(error: NodemailerError) => void>();
  private closedFlag = false;
  messages = 0;

  constructor(
    readonly endpoint: SmtpEndpoint,
    private readonly options: { name: string; timeouts: SessionTimeouts; ca?: string[] },
  ) {
    const verify = endpoint.tls === 'verify';
    this.connection = new SMTPConnection({
      host: endpoint.address,
      port: endpoint.port,
      secure: false,
      name: options.name,
      ...(endpoint.localAddress === undefined ? {} : { localAddress: endpoint.localAddress }),
      ignoreTLS: endpoint.tls === 'none',
      requireTLS: endpoint.tls === 'require' || verify,
      opportunisticTLS: endpoint.tls === 'opportunistic',
      connectionTimeout: options.timeouts.connectMs,
      greetingTimeout: options.timeouts.greetingMs,
      socketTimeout: options.timeouts.commandMs,
      // Certificates are always checked; `verify` refuses a bad one, the other policies record it.
      tls: {
        servername: endpoint.host,
        rejectUnauthorized: verify,
        minVersion: 'TLSv1.2',
        ...(options.ca === undefined ? {} : { ca: options.ca }),
      },
      logger: false,
    });
    this.connection.on('error', (error: NodemailerError) => this.fail(error));
    this.connection.on('end', () => {
      this.closedFlag = true;
      this.fail(Object.assign(new Error('connection closed'), { code: 'ECONNECTION' }));
    });
  }

  get closed(): boolean {
    return this.closedFlag || this.failure !== undefined;
  }

  /** The TLS in use, or undefined for plain text. */
  get tls(): TlsInfo | undefined {
    const socket = this.connection._socket;
    if (!(socket instanceof TLSSocket)) {
      return undefined;
    }
    // Node documents a string (the OpenSSL code) but the typings say Error.
    const error = socket.authorizationError as unknown;
    const reason = typeof error === 'string' ? error : error instanceof Error ? error.message : undefined;
    return {
      version: socket.getProtocol() ?? 'unknown',
      cipher: socket.getCipher().name,
      authorized: socket.authorized,
      ...(reason === undefined ? {} : { authorizationError: reason }),
    };
  }

  /** The EHLO keywords the server advertised (upper case). */
  supports(extension: 'SMTPUTF8' | '8BITMIME' | 'SIZE' | 'PIPELINING'): boolean {
    const supported = (this.connection as unknown as { _supportedExtensions?: string[] })
      ._supportedExtensions;
    return supported?.includes(extension) ?? false;
  }

  /** Connects, greets, STARTTLS per the policy, AUTH when the endpoint has credentials. */
  async open(): Promise<void> {
    try {
      await this.run<undefined>((done) => this.connection.connect((error) => done(error ?? null)));
      const auth = this.endpoint.auth;
      if (auth !== undefined) {
        if (!this.connection.secure) {
          this.close();
          throw new SmtpSessionError('no TLS for AUTH', { code: 454, text: '4.7.0 no TLS for AUTH' }, true);
        }
        try {
          await this.run<undefined>((done) => this.connection.login(auth, (error) => done(error ?? null)));
        } catch (error) {
          // A refused AUTH is the relay's configuration, not the message's fault: retry, never bounce.
          const reply = replyOf(error as NodemailerError);
          throw new SmtpSessionError(
            'AUTH refused',
            { code: 454, text: `4.7.0 AUTH refused: ${reply.code} ${reply.text}` },
            true,
            remoteCodeOf(error as NodemailerError),
          );
        }
      }
    } catch (error) {
      this.close();
      const failure = toSessionError(error as NodemailerError);
      // A 5xx greeting or EHLO refuses the connection, not the message (a blocklist, a busy
      // server): like a refused connection it is temporary, and the next MX may take the mail.
      if (failure.reply.code >= 500) {
        throw new SmtpSessionError(
          failure.message,
          { code: 451, text: `4.4.2 refused at connection: ${failure.reply.code} ${failure.reply.text}` },
          true,
          failure.remoteCode,
        );
      }
      throw failure;
    }
  }

  /**
   * One transaction. The message is normalised to CRLF line ends on the way (nodemailer dot-stuffs
   * it), so no bare CR or LF reaches the receiver. Each recipient gets its own RCPT reply when the
   * server refused it there, else the reply to the final `.` (or the failure standing for one).
   */
  async send(
    envelope: { from: string; to: string[]; size?: number; eightBit: boolean },
    message: Readable,
  ): Promise<TransactionReplies> {
    this.messages += 1;
    let sent = false;
    const body = message.pipe(new SmtpLineNormalizer()).pipe(new PassThrough());
    body.on('end', () => {
      sent = true;
    });
    message.on('error', (error) => body.destroy(error));
    // The reply to the final dot may take 10 minutes (RFC 5321 §4.5.3.2.6), longer than a command.
    const socket = this.connection._socket as Socket | undefined;
    socket?.setTimeout(this.options.timeouts.dataMs);
    const timer = setTimeout(
      () => this.fail(Object.assign(new Error('data timeout'), { code: 'ETIMEDOUT' })),
      this.options.timeouts.dataMs,
    );
    try {
      const info = await this.run<SMTPConnection.SentMessageInfo>((done) =>
        this.connection.send(
          {
            from: envelope.from,
            to: envelope.to,
            use8BitMime: envelope.eightBit,
            ...(envelope.size === undefined ? {} : { size: envelope.size }),
          },
          body,
          (error, result) => done(error, result),
        ),
      );
      const recipients = new Map<string, Reply>();
      for (const rejected of info.rejectedErrors ?? []) {
        recipients.set((rejected as NodemailerError).recipient ?? '', replyOf(rejected));
      }
      const accepted = parseReply(info.response);
      for (const address of info.accepted) {
        recipients.set(address, accepted);
      }
      return { recipients, ambiguous: false, serverReplied: true };
    } catch (error) {
      return this.failedTransaction(error as NodemailerError, envelope.to, sent);
    } finally {
      clearTimeout(timer);
      if (!this.closed) {
        socket?.setTimeout(this.options.timeouts.commandMs);
      }
      if (!sent) {
        body.destroy();
        message.destroy();
      }
    }
  }

  private failedTransaction(failure: NodemailerError, to: string[], sent: boolean): TransactionReplies {
    // nodemailer keeps the RCPT refusals on its envelope; only the all-refused error carries them.
    const state = (
      this.connection as unknown as { _envelope?: { to?: string[]; rejectedErrors?: NodemailerError[] } }
    )._envelope;
    const sameTransaction = state?.to !== undefined && state.to.join('\n') === to.join('\n');
    const refusals =
      (failure as { rejectedErrors?: NodemailerError[] }).rejectedErrors ??
      (sameTransaction ? (state.rejectedErrors ?? []) : []);
    const recipients = new Map<string, Reply>();
    for (const rejected of refusals) {
      recipients.set(rejected.recipient ?? '', replyOf(rejected));
    }
    const size =
      failure.code === 'EMESSAGE' && failure.responseCode === undefined && /size/i.test(failure.message);
    const reply: Reply = size
      ? { code: 552, text: '5.3.4 message larger than the receiver accepts (SIZE)' }
      : replyOf(failure);
    for (const address of to) {
      if (!recipients.has(address)) {
        recipients.set(address, reply);
      }
    }
    const serverReplied = failure.responseCode !== undefined || refusals.length > 0 || size;
    // Without a reply the connection's state is unknown (mid-DATA, say): it carries nothing more.
    if (failure.responseCode === undefined) {
      this.close();
    }
    // The whole message went out and no reply came: the receiver may have taken it (RFC 1047).
    return { recipients, ambiguous: sent && failure.responseCode === undefined, serverReplied };
  }

  /** RSET between transactions on a reused connection. */
  async reset(): Promise<void> {
    try {
      await this.run<undefined>((done) => this.connection.reset((error) => done(error ?? null)));
    } catch (error) {
      this.close();
      throw toSessionError(error as NodemailerError);
    }
  }

  quit(): void {
    if (!this.closed) {
      this.connection.quit();
    }
    this.closedFlag = true;
  }

  close(): void {
    this.closedFlag = true;
    this.connection.close();
  }

  /**
   * Settles with nodemailer's callback, or with a connection error or close, whichever comes
   * first; rejects with nodemailer's error as it is (it carries the per-recipient refusals).
   */
  private run<T>(
    start: (done: (error: NodemailerError | null | undefined, value?: T) => void) => void,
  ): Promise<T> {
    const failure = this.failure;
    if (failure !== undefined) {
      return Promise.reject(failure);
    }
    return new Promise<T>((resolve, reject) => {
      let settled = false;
      const finish = (error: NodemailerError | null | undefined, value?: T): void => {
        if (settled) {
          return;
        }
        settled = true;
        this.waiters.delete(finish);
        if (error !== null && error !== undefined) {
          reject(error);
        } else {
          resolve(value as T);
        }
      };
      this.waiters.add(finish);
      start(finish);
    });
  }

  private fail(error: NodemailerError): void {
    this.failure ??= error;
    for (const waiter of [...this.waiters]) {
      waiter(error);
    }
    if (error.code === 'ETIMEDOUT') {
      this.connection.close();
    }
  }
}

function toSessionError(error: NodemailerError): SmtpSessionError {
  return error instanceof SmtpSessionError
    ? error
    : new SmtpSessionError(error.message, replyOf(error), true, remoteCodeOf(error));
}

/** The server's reply code, if the error is a reply (as `replyOf` reads it) and not a failure. */
function remoteCodeOf(error: NodemailerError): number | undefined {
  const code = error.responseCode ?? 0;
  return error.response !== undefined && code >= 400 && error.code !== 'ETLS' ? code : undefined;
}

/** The server's reply, or a 4xx standing for a failure that had none (connection, TLS, timeout). */
function replyOf(error: NodemailerError): Reply {
  // A TLS failure is ours to report whatever the server last said (e.g. an EHLO without STARTTLS).
  if (error.response !== undefined && (error.responseCode ?? 0) >= 400 && error.code !== 'ETLS') {
    return parseReply(error.response);
  }
  // A refused certificate surfaces as a socket error during the STARTTLS handshake.
  const tls = error.code === 'ETLS' || /certificate|STARTTLS|TLS|SSL/i.test(error.message);
  const status = tls ? '4.7.5' : '4.4.2';
  const detail = `${error.code ?? 'ERROR'} ${error.message}`.replace(/\s+/g, ' ').slice(0, 300);
  return { code: 451, text: `${status} ${detail}` };
}

/** `550-5.1.1 text` or `550 5.1.1 text` → code and text. */
export function parseReply(response: string): Reply {
  const match = /^(\d{3})[ -]?([\s\S]*)$/.exec(response.trim());
  if (match === null) {
    return { code: 451, text: `4.4.2 unparsable reply: ${response.slice(0, 200)}` };
  }
  return { code: Number(match[1]), text: (match[2] ?? '').replace(/\r?\n\d{3}[ -]?/g, ' ').trim() };
}
