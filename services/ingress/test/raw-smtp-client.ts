import { connect as connectTcp } from 'node:net';
import type { Socket } from 'node:net';
import { connect as connectTls } from 'node:tls';
import type { TLSSocket } from 'node:tls';

/** One SMTP reply: the code, the RFC 3463 enhanced status code of its last line, and its text. */
export interface SmtpReply {
  code: number;
  enhanced: string | undefined;
  /** The last line's text after the code and the enhanced status code. */
  text: string;
  lines: string[];
}

export interface RawSmtpOptions {
  port: number;
  host?: string;
  /** Implicit TLS (RFC 8314 §3.3): the handshake comes before the greeting. */
  implicitTls?: boolean;
  /** The certificate to trust; the ingress presents a self-signed one. */
  ca: string;
  /** How long to wait for any one reply (default 10 s), so a server that hangs fails the test. */
  replyTimeoutMs?: number;
  /** A PROXY protocol v1 line, sent first as a load balancer would (without its CRLF). */
  proxyHeader?: string;
}

type Waiter = { resolve: (reply: SmtpReply) => void; reject: (error: Error) => void };

/**
 * A line-level SMTP client on a raw socket, for exact reply codes: it sends what it is told and
 * never retries, upgrades or pipelines on its own, unlike a mail library.
 */
export class RawSmtpClient {
  private socket: Socket | TLSSocket;
  private buffer = '';
  private readonly lines: string[] = [];
  private readonly replies: SmtpReply[] = [];
  private readonly waiters: Waiter[] = [];
  private closedWith: Error | undefined;
  private readonly onData = (chunk: Buffer): void => this.receive(chunk);
  private readonly onClose = (): void => this.fail(new Error('connection closed by the server'));
  private readonly onError = (error: Error): void => this.fail(error);

  private constructor(
    socket: Socket | TLSSocket,
    private readonly options: RawSmtpOptions,
  ) {
    this.socket = socket;
    this.attach(socket);
  }

  /** Connects and reads the greeting. */
  static async connect(options: RawSmtpOptions): Promise<{ client: RawSmtpClient; greeting: SmtpReply }> {
    const host = options.host ?? '127.0.0.1';
    const socket = await new Promise<Socket | TLSSocket>((resolve, reject) => {
      const s = options.implicitTls
        ? connectTls({ host, port: options.port, ca: options.ca }, () => resolve(s))
        : connectTcp({ host, port: options.port }, () => resolve(s));
      s.once('error', reject);
    });
    const client = new RawSmtpClient(socket, options);
    if (options.proxyHeader !== undefined) {
      socket.write(`${options.proxyHeader}\r\n`);
    }
    return { client, greeting: await client.read() };
  }

  get encrypted(): boolean {
    return 'encrypted' in this.socket && this.socket.encrypted;
  }

  /** Sends one command line and reads its reply. */
  command(line: string): Promise<SmtpReply> {
    this.socket.write(`${line}\r\n`);
    return this.read();
  }

  /** Sends bytes as they are (a message body with its final dot) and reads the reply. */
  sendRaw(data: Buffer | string): Promise<SmtpReply> {
    this.socket.write(data);
    return this.read();
  }

  /** Writes bytes without waiting for a reply (pipelining, or a message cut off mid-DATA). */
  write(data: Buffer | string): void {
    this.socket.write(data);
  }

  /** The SHA-256 fingerprint of the certificate the server presented, once encrypted. */
  get peerFingerprint(): string | undefined {
    return 'getPeerCertificate' in this.socket ? this.socket.getPeerCertificate().fingerprint256 : undefined;
  }

  /** Resolves once the server has closed the connection. */
  whenClosed(): Promise<void> {
    if (this.closedWith !== undefined || this.socket.destroyed) {
      return Promise.resolve();
    }
    return new Promise((resolve) => this.socket.once('close', () => resolve()));
  }

  /**
   * STARTTLS (RFC 3207): expects 220, then the TLS handshake on the same socket. `pipelined` is
   * sent in clear text in the same packet as STARTTLS, as in the CVE-2011-0411 injection.
   */
  async startTls(pipelined = ''): Promise<SmtpReply> {
    const reply = await this.command(`STARTTLS\r\n${pipelined}`.replace(/\r\n$/, ''));
    if (reply.code !== 220) {
      throw new Error(`STARTTLS refused: ${reply.lines.join(' / ')}`);
    }
    const plain = this.socket;
    this.detach(plain);
    this.socket = await new Promise<TLSSocket>((resolve, reject) => {
      const secure = connectTls(
        { socket: plain, host: this.options.host ?? '127.0.0.1', ca: this.options.ca },
        () => resolve(secure),
      );
      secure.once('error', reject);
    });
    this.attach(this.socket);
    return reply;
  }

  async authPlain(username: string, password: string): Promise<SmtpReply> {
    return this.command(`AUTH PLAIN ${Buffer.from(`\0${username}\0${password}`).toString('base64')}`);
  }

  /** AUTH LOGIN (two 334 challenges); returns the final reply, or the first one that is not 334. */
  async authLogin(username: string, password: string): Promise<SmtpReply> {
    const first = await this.command('AUTH LOGIN');
    if (first.code !== 334) {
      return first;
    }
    const second = await this.command(Buffer.from(username).toString('base64'));
    if (second.code !== 334) {
      return second;
    }
    return this.command(Buffer.from(password).toString('base64'));
  }

  /** Ends the session politely if it is still open; never throws. */
  async close(): Promise<void> {
    if (this.closedWith === undefined && !this.socket.destroyed) {
      await this.command('QUIT').catch(() => undefined);
    }
    this.socket.destroy();
  }

  /** The next reply; rejects when the connection closes first or no reply comes in time. */
  read(): Promise<SmtpReply> {
    const ready = this.replies.shift();
    if (ready !== undefined) {
      return Promise.resolve(ready);
    }
    if (this.closedWith !== undefined) {
      return Promise.reject(this.closedWith);
    }
    return new Promise<SmtpReply>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(new Error(`no SMTP reply within ${this.options.replyTimeoutMs ?? 10_000} ms`));
      }, this.options.replyTimeoutMs ?? 10_000);
      const waiter: Waiter = {
        resolve: (reply) => {
          clearTimeout(timer);
          resolve(reply);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      };
      this.waiters.push(waiter);
    });
  }

  private attach(socket: Socket | TLSSocket): void {
    socket.on('data', this.onData);
    socket.on('close', this.onClose);
    socket.on('error', this.onError);
  }

  private detach(socket: Socket | TLSSocket): void {
    socket.off('data', this.onData);
    socket.off('close', this.onClose);
    socket.off('error', this.onError);
  }

  private receive(chunk: Buffer): void {
    this.buffer += chunk.toString('latin1');
    for (let end = this.buffer.indexOf('\r\n'); end !== -1; end = this.buffer.indexOf('\r\n')) {
      const line = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      this.lines.push(line);
      // RFC 5321 §4.2.1: "250-" continues a reply, "250 " ends it.
      if (/^\d{3}(?: |$)/.test(line)) {
        this.deliver(parseReply(this.lines.splice(0)));
      }
    }
  }

  private deliver(reply: SmtpReply): void {
    const waiter = this.waiters.shift();
    if (waiter === undefined) {
      this.replies.push(reply);
    } else {
      waiter.resolve(reply);
    }
  }

  private fail(error: Error): void {
    this.closedWith ??= error;
    for (const waiter of this.waiters.splice(0)) {
      waiter.reject(error);
    }
  }
}

function parseReply(lines: string[]): SmtpReply {
  const last = lines[lines.length - 1] ?? '';
  const match = /^(\d{3})[ -]?(?:(\d\.\d{1,3}\.\d{1,3}) )?(.*)$/.exec(last);
  return {
    code: Number(match?.[1] ?? 0),
    enhanced: match?.[2],
    text: match?.[3] ?? '',
    lines,
  };
}

/** SMTP dot-stuffing (RFC 5321 §4.5.2) and the final dot, for a body with CRLF line ends. */
export function dataPayload(body: string | Buffer): Buffer {
  const text = Buffer.isBuffer(body) ? body.toString('latin1') : body;
  const stuffed = text.replace(/(^|\r\n)\./g, '$1..');
  return Buffer.from(`${stuffed}${stuffed.endsWith('\r\n') ? '' : '\r\n'}.\r\n`, 'latin1');
}
