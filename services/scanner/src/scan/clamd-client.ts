import type { RelayConfig } from '@ser/config';
import { CONFIG } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import type { OnApplicationShutdown } from '@nestjs/common';
import { connect } from 'node:net';
import type { Readable } from 'node:stream';
import { abortReason, ClamdSession, ClamdUnavailableError, StaleSessionError } from './clamd-session';
import type { AvVerdict } from './clamd-session';

export { ClamdUnavailableError, frameInstreamChunk, parseClamdReply } from './clamd-session';
export type { AvVerdict } from './clamd-session';

const SHUTDOWN_GRACE_MS = 2_000;

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
export class ClamdClient implements OnApplicationShutdown {
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
  async onApplicationShutdown(): Promise<void> {
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
