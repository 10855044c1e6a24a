/**
 * clamd's protocol on one connection (`man clamd`): an IDSESSION, INSTREAM framing and reply
 * parsing. The pool that reuses sessions is ClamdClient (clamd-client.ts).
 */
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
export class StaleSessionError extends ClamdUnavailableError {}

/** Largest INSTREAM chunk we send; clamd accepts bigger ones, but small ones keep memory flat. */
export const INSTREAM_CHUNK_BYTES = 64 * 1024;
/** Below clamd's default IdleTimeout (30 s), so clamd never closes a session we are about to use. */
const MAX_IDLE_MS = 20_000;
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
export function abortReason(signal: AbortSignal): Error {
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
export class ClamdSession {
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
