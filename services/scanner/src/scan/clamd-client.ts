import type { RelayConfig } from '@ser/config';
import { CONFIG } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import type { OnModuleDestroy } from '@nestjs/common';
import { connect } from 'node:net';
import type { Socket } from 'node:net';
import type { Readable } from 'node:stream';

export type AvVerdict = { result: 'clean' } | { result: 'infected'; signature: string };

export class ClamdUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ClamdUnavailableError';
  }
}

/** A pooled session died before it took any byte of the body, so the scan may move to another. */
class StaleSessionError extends ClamdUnavailableError {}

/** Largest INSTREAM chunk we send; clamd accepts bigger ones, but small ones keep memory flat. */
export const INSTREAM_CHUNK_BYTES = 64 * 1024;
/** Below clamd's default IdleTimeout (30 s), so clamd never closes a session we are about to use. */
const MAX_IDLE_MS = 20_000;
const SHUTDOWN_GRACE_MS = 2_000;
/** clamd replies are one short line (a signature name at most); longer means a wrong peer. */
const MAX_REPLY_BYTES = 4096;
/** INSTREAM ends with a zero-length chunk. */
const INSTREAM_END = Buffer.alloc(4);

/**
 * Frames data for INSTREAM (`man clamd`): each piece of at most `maxBytes` becomes a 4-byte
 * big-endian length followed by the bytes. Empty data yields nothing, since a zero-length chunk
 * would end the stream.
 */
export function frameInstreamChunk(data: Buffer, maxBytes = INSTREAM_CHUNK_BYTES): Buffer[] {
  const frames: Buffer[] = [];
  for (let offset = 0; offset < data.length; offset += maxBytes) {
    const piece = data.subarray(offset, offset + maxBytes);
    const length = Buffer.alloc(4);
    length.writeUInt32BE(piece.length);
    frames.push(length, piece);
  }
  return frames;
}

/**
 * Parses a clamd INSTREAM reply (`stream: OK`, `stream: <name> FOUND`); anything else, `ERROR`
 * replies included, is an error, never a clean verdict. Inside an IDSESSION every reply starts
 * with its request number (`3: stream: OK`); given `requestId`, that number must be present and match.
 */
export function parseClamdReply(reply: string, requestId?: number): AvVerdict {
  const raw = reply.replace(/\0/g, '').trim();
  const session = /^(\d+): (.*)$/s.exec(raw);
  if (requestId !== undefined && session?.[1] !== String(requestId)) {
    throw new ClamdUnavailableError(`clamd reply is not for request ${requestId}: ${raw.slice(0, 200)}`);
  }
  const text = session?.[2] ?? raw;
  if (/^stream: OK$/.test(text)) {
    return { result: 'clean' };
  }
  const found = /^stream: (.+) FOUND$/.exec(text);
  if (found?.[1] !== undefined) {
    return { result: 'infected', signature: found[1] };
  }
  throw new ClamdUnavailableError(`unexpected clamd reply: ${text.slice(0, 200)}`);
}

/** Why a scan was cut short: the scan timeout's ClamdUnavailableError, normally. */
function abortReason(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  return reason instanceof Error
    ? reason
    : new ClamdUnavailableError('clamd scan aborted', { cause: reason });
}

function toBuffer(chunk: unknown): Buffer {
  if (Buffer.isBuffer(chunk)) {
    return chunk;
  }
  return typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk as Uint8Array);
}

interface Upload {
  /** Some of the body has been read, so the scan cannot be replayed. */
  readonly touched: boolean;
  /** The whole body and the closing zero-length chunk have been written. */
  readonly ended: boolean;
  stop(): void;
}

/** Sends INSTREAM and the body as framed chunks, reading only while the socket takes more. */
function uploadInstream(body: Readable, socket: Socket, onBodyError: (error: Error) => void): Upload {
  let awaitingDrain = false;
  const pump = (): void => {
    awaitingDrain = false;
    for (let chunk: unknown = body.read(); chunk !== null; chunk = body.read()) {
      upload.touched = true;
      const frames = frameInstreamChunk(toBuffer(chunk));
      if (!frames.map((frame) => socket.write(frame)).every(Boolean)) {
        awaitingDrain = true;
        socket.once('drain', pump);
        return;
      }
    }
  };
  const onReadable = (): void => (awaitingDrain ? undefined : pump());
  const onEnd = (): void => {
    upload.ended = true;
    socket.write(INSTREAM_END);
  };
  const upload = {
    touched: false,
    ended: false,
    stop: (): void => {
      body.off('readable', onReadable).off('end', onEnd).off('error', onBodyError);
      socket.off('drain', pump);
    },
  };
  socket.write('zINSTREAM\0');
  body.on('readable', onReadable).once('end', onEnd).once('error', onBodyError);
  return upload;
}

interface PendingRequest {
  onReply(text: string): void;
  onLost(error: Error): void;
}

/**
 * One clamd session (`zIDSESSION`) on one TCP connection, one request at a time. Replies are
 * NUL-terminated because every command is sent with the `z` prefix.
 */
class ClamdSession {
  lastUsed = Date.now();
  private nextRequestId = 1;
  private received = Buffer.alloc(0);
  private pending: PendingRequest | undefined;
  /** The socket error that ended the session, if one did. */
  lostError: Error | undefined;
  readonly closed: Promise<void>;

  constructor(readonly socket: Socket) {
    socket.setNoDelay(true);
    socket.on('data', (data: Buffer) => this.onData(data));
    socket.on('error', (error) => (this.lostError ??= error));
    // clamd ends a session on IdleTimeout or on error; once it has, the session is of no use.
    socket.on('end', () => socket.destroy());
    socket.on('timeout', () => this.end());
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.pending?.onLost(this.lostError ?? new Error('clamd closed the connection'));
        resolve();
      });
    });
    socket.write('zIDSESSION\0');
  }

  /** Still connected, and not idle for so long that clamd may be closing it right now. */
  get reusable(): boolean {
    return !this.socket.destroyed && this.socket.writable && Date.now() - this.lastUsed < MAX_IDLE_MS;
  }

  /** Idle sessions neither keep the process alive nor outlive MAX_IDLE_MS. */
  park(): void {
    this.lastUsed = Date.now();
    this.socket.setTimeout(MAX_IDLE_MS);
    this.socket.unref();
  }

  unpark(): void {
    this.socket.setTimeout(0);
    this.socket.ref();
  }

  end(): void {
    if (this.socket.writable) {
      this.socket.end('zEND\0');
    } else {
      this.socket.destroy();
    }
  }

  destroy(): void {
    this.socket.destroy();
  }

  /** Scans `body` with INSTREAM; settles on clamd's reply, a lost connection, a body error or abort. */
  instream(body: Readable, signal: AbortSignal): Promise<AvVerdict> {
    const requestId = this.nextRequestId++;
    return new Promise<AvVerdict>((resolve, reject) => {
      const settle = (outcome: () => AvVerdict): void => {
        this.pending = undefined;
        upload.stop();
        signal.removeEventListener('abort', onAbort);
        try {
          resolve(outcome());
        } catch (error) {
          reject(
            error instanceof Error ? error : new ClamdUnavailableError('clamd scan failed', { cause: error }),
          );
        }
      };
      const fail = (error: Error): void =>
        settle(() => {
          throw error;
        });
      const onAbort = (): void => fail(abortReason(signal));
      this.pending = {
        onReply: (text) =>
          settle(() => {
            if (!upload.ended) {
              // clamd answers early only to refuse, e.g. "INSTREAM size limit exceeded. ERROR".
              throw new ClamdUnavailableError(
                `clamd replied before the end of the stream: ${text.slice(0, 200)}`,
              );
            }
            return parseClamdReply(text, requestId);
          }),
        onLost: (cause) => {
          const Lost = upload.touched || upload.ended ? ClamdUnavailableError : StaleSessionError;
          fail(new Lost('clamd connection lost during a scan', { cause }));
        },
      };
      signal.addEventListener('abort', onAbort, { once: true });
      const upload = uploadInstream(body, this.socket, fail);
    });
  }

  private onData(data: Buffer): void {
    this.received = Buffer.concat([this.received, data]);
    if (this.received.length > MAX_REPLY_BYTES && !this.received.includes(0)) {
      // Whatever talks here is not clamd; do not buffer it until the scan times out.
      this.socket.destroy(new Error('clamd reply too long'));
      return;
    }
    for (let end = this.received.indexOf(0); end !== -1; end = this.received.indexOf(0)) {
      const text = this.received.subarray(0, end).toString('utf8');
      this.received = this.received.subarray(end + 1);
      const pending = this.pending;
      if (pending === undefined) {
        // A reply nobody asked for: the session is out of step, so it cannot be trusted again.
        this.socket.destroy();
        return;
      }
      pending.onReply(text);
    }
  }
}

interface Lease {
  session: ClamdSession;
  /** Taken from the idle pool, so it may have died unnoticed (see StaleSessionError). */
  reused: boolean;
}

interface Waiter {
  signal: AbortSignal;
  resolve(lease: Promise<Lease>): void;
}

/**
 * clamd over TCP with INSTREAM inside IDSESSION sessions, so connections are reused: at most
 * SER_CLAMD_MAX_CONNECTIONS sessions, one scan at a time on each; further scans wait for a free
 * one. clamd itself decodes MIME parts and archives. A session that fails in any way is
 * destroyed, never pooled again; SER_CLAMD_TIMEOUT_MS bounds the whole scan, waiting included.
 */
@Injectable()
export class ClamdClient implements OnModuleDestroy {
  private readonly idle: ClamdSession[] = [];
  private readonly waiters: Waiter[] = [];
  private readonly sessions = new Set<ClamdSession>();
  private shuttingDown = false;

  constructor(@Inject(CONFIG) private readonly config: RelayConfig) {}

  async scan(body: Readable): Promise<AvVerdict> {
    const timeoutMs = this.config.SER_CLAMD_TIMEOUT_MS;
    const abort = new AbortController();
    const timer = setTimeout(() => {
      abort.abort(new ClamdUnavailableError(`no clamd verdict within ${timeoutMs} ms`));
    }, timeoutMs);
    try {
      return await this.scanOnce(body, abort.signal, true);
    } catch (error) {
      body.destroy();
      throw error;
    } finally {
      clearTimeout(timer);
    }
  }

  /** Ends idle sessions; busy ones are ended when their scan finishes. */
  async onModuleDestroy(): Promise<void> {
    this.shuttingDown = true;
    for (const waiter of this.waiters.splice(0)) {
      waiter.resolve(Promise.reject(new ClamdUnavailableError('clamd client shut down')));
    }
    const idle = this.idle.splice(0);
    idle.forEach((session) => session.end());
    let grace: NodeJS.Timeout | undefined;
    const expired = new Promise<void>((resolve) => {
      grace = setTimeout(resolve, SHUTDOWN_GRACE_MS);
    });
    await Promise.race([Promise.all(idle.map((session) => session.closed)), expired]);
    clearTimeout(grace);
    idle.forEach((session) => session.destroy());
  }

  private async scanOnce(body: Readable, signal: AbortSignal, mayRetry: boolean): Promise<AvVerdict> {
    const { session, reused } = await this.acquire(signal);
    let verdict: AvVerdict;
    try {
      signal.throwIfAborted();
      verdict = await session.instream(body, signal);
    } catch (error) {
      session.destroy();
      if (mayRetry && reused && error instanceof StaleSessionError) {
        return this.scanOnce(body, signal, false);
      }
      throw error;
    }
    this.release(session);
    return verdict;
  }

  private acquire(signal: AbortSignal): Promise<Lease> {
    signal.throwIfAborted();
    if (this.shuttingDown) {
      throw new ClamdUnavailableError('clamd client shut down');
    }
    const pooled = this.takeIdle();
    if (pooled !== undefined) {
      return Promise.resolve({ session: pooled, reused: true });
    }
    if (this.sessions.size < this.config.SER_CLAMD_MAX_CONNECTIONS) {
      return this.open(signal);
    }
    return new Promise<Lease>((resolve, reject) => {
      const waiter: Waiter = {
        signal,
        resolve: (lease) => {
          signal.removeEventListener('abort', onAbort);
          resolve(lease);
        },
      };
      const onAbort = (): void => {
        this.waiters.splice(this.waiters.indexOf(waiter), 1);
        reject(abortReason(signal));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  /** The most recently used idle session still fit for use; stale ones are closed on the way. */
  private takeIdle(): ClamdSession | undefined {
    for (let session = this.idle.pop(); session !== undefined; session = this.idle.pop()) {
      if (session.reusable) {
        session.unpark();
        return session;
      }
      session.destroy();
    }
    return undefined;
  }

  private open(signal: AbortSignal): Promise<Lease> {
    const { SER_CLAMD_HOST: host, SER_CLAMD_PORT: port } = this.config;
    const session = new ClamdSession(connect({ host, port }));
    this.sessions.add(session);
    void session.closed.then(() => this.forget(session));
    return new Promise((resolve, reject) => {
      const fail = (cause: unknown): void => {
        session.socket.off('connect', onConnect).off('close', onClose);
        signal.removeEventListener('abort', onAbort);
        session.destroy();
        reject(new ClamdUnavailableError(`cannot connect to clamd at ${host}:${port}`, { cause }));
      };
      const onConnect = (): void => {
        session.socket.off('close', onClose);
        signal.removeEventListener('abort', onAbort);
        resolve({ session, reused: false });
      };
      const onClose = (): void => fail(session.lostError);
      const onAbort = (): void => fail(abortReason(signal));
      session.socket.once('connect', onConnect).once('close', onClose);
      signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  private release(session: ClamdSession): void {
    if (this.shuttingDown) {
      session.end();
      return;
    }
    session.park();
    this.idle.push(session);
    this.serveWaiter();
  }

  private forget(session: ClamdSession): void {
    this.sessions.delete(session);
    const index = this.idle.indexOf(session);
    if (index !== -1) {
      this.idle.splice(index, 1);
    }
    this.serveWaiter();
  }

  /** Hands a freed or newly allowed session to the longest waiting scan. */
  private serveWaiter(): void {
    const waiter = this.waiters[0];
    if (waiter === undefined) {
      return;
    }
    const pooled = this.takeIdle();
    if (pooled !== undefined) {
      this.waiters.shift();
      waiter.resolve(Promise.resolve({ session: pooled, reused: true }));
    } else if (this.sessions.size < this.config.SER_CLAMD_MAX_CONNECTIONS) {
      this.waiters.shift();
      waiter.resolve(this.open(waiter.signal));
    }
  }
}
