import type { RelayConfig } from '@ser/config';
import type { Logger } from '@ser/logger';
import { CONFIG, LOGGER } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import type { OnApplicationShutdown } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { rootCertificates } from 'node:tls';
import { DestinationLimits } from '../limits/destination-limits';
import type { ConnectionSlot } from '../limits/destination-limits';
import { SmtpSession } from './smtp-session';
import type { SessionTimeouts, SmtpEndpoint } from './smtp-session';

/** A connection lent to one delivery; give it back with `release`. */
export interface SessionLease {
  session: SmtpSession;
  /** Whether it was already open (reused) when lent. */
  reused: boolean;
  /** `reusable`: the transaction ended cleanly, the connection may carry another message. */
  release(reusable: boolean): Promise<void>;
}

interface IdleSession {
  session: SmtpSession;
  slot: ConnectionSlot;
  timer: NodeJS.Timeout;
}

/**
 * Open SMTP connections, reused for further messages to the same endpoint for a short idle time.
 * Every open connection, busy or idle, holds one of the MX host's connection slots, which are
 * shared by all egress replicas (DestinationLimits): the cap counts real connections.
 */
@Injectable()
export class SmtpConnectionPool implements OnApplicationShutdown {
  private readonly idle = new Map<string, IdleSession[]>();
  private readonly timeouts: SessionTimeouts;
  private readonly ca: string[] | undefined;
  private closing = false;

  constructor(
    @Inject(CONFIG) private readonly config: RelayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly limits: DestinationLimits,
  ) {
    this.timeouts = {
      connectMs: config.SER_EGRESS_CONNECT_TIMEOUT_MS,
      greetingMs: config.SER_EGRESS_GREETING_TIMEOUT_MS,
      commandMs: config.SER_EGRESS_COMMAND_TIMEOUT_MS,
      dataMs: config.SER_EGRESS_DATA_TIMEOUT_MS,
    };
    // Extra trust anchors (a lab CA) on top of Node's bundled ones, for `verify` and MTA-STS.
    this.ca =
      config.SER_EGRESS_CA_FILE === undefined
        ? undefined
        : [...rootCertificates, readFileSync(config.SER_EGRESS_CA_FILE, 'utf8')];
  }

  /**
   * An idle connection to the endpoint, else a new one if the MX host has a free slot; `capped`
   * when all its slots are in use (the caller tries again later, the host is not hammered).
   * Rejects with SmtpSessionError when the connection cannot be opened.
   */
  async acquire(endpoint: SmtpEndpoint): Promise<SessionLease | 'capped'> {
    const key = keyOf(endpoint);
    const idle = this.takeIdle(key);
    if (idle !== undefined) {
      return this.lease(key, idle.session, idle.slot, true);
    }
    const slot = await this.limits.acquireConnection(endpoint.host.toLowerCase());
    if (slot === undefined) {
      return 'capped';
    }
    const session = new SmtpSession(endpoint, {
      name: this.config.SER_HOSTNAME,
      timeouts: this.timeouts,
      ...(this.ca === undefined ? {} : { ca: this.ca }),
    });
    try {
      await session.open();
    } catch (error) {
      await slot.release();
      throw error;
    }
    return this.lease(key, session, slot, false);
  }

  private lease(key: string, session: SmtpSession, slot: ConnectionSlot, reused: boolean): SessionLease {
    let released = false;
    return {
      session,
      reused,
      release: async (reusable) => {
        if (released) {
          return;
        }
        released = true;
        await this.giveBack(key, session, slot, reusable);
      },
    };
  }

  private async giveBack(
    key: string,
    session: SmtpSession,
    slot: ConnectionSlot,
    reusable: boolean,
  ): Promise<void> {
    const keep =
      reusable &&
      !this.closing &&
      !session.closed &&
      this.config.SER_EGRESS_CONNECTION_IDLE_MS > 0 &&
      session.messages < this.config.SER_EGRESS_MESSAGES_PER_CONNECTION;
    if (keep) {
      try {
        await session.reset();
        const entry: IdleSession = {
          session,
          slot,
          timer: setTimeout(() => void this.expire(key, entry), this.config.SER_EGRESS_CONNECTION_IDLE_MS),
        };
        entry.timer.unref();
        this.idle.set(key, [...(this.idle.get(key) ?? []), entry]);
        return;
      } catch {
        // RSET failed: the connection is gone; fall through and free its slot.
      }
    }
    session.quit();
    await this.releaseSlot(slot);
  }

  private takeIdle(key: string): IdleSession | undefined {
    const list = this.idle.get(key) ?? [];
    let entry = list.pop();
    while (entry !== undefined && entry.session.closed) {
      clearTimeout(entry.timer);
      void this.releaseSlot(entry.slot);
      entry = list.pop();
    }
    if (list.length === 0) {
      this.idle.delete(key);
    }
    if (entry !== undefined) {
      clearTimeout(entry.timer);
    }
    return entry;
  }

  private async expire(key: string, entry: IdleSession): Promise<void> {
    const list = this.idle.get(key);
    if (list === undefined || !list.includes(entry)) {
      return;
    }
    const rest = list.filter((e) => e !== entry);
    if (rest.length === 0) {
      this.idle.delete(key);
    } else {
      this.idle.set(key, rest);
    }
    entry.session.quit();
    await this.releaseSlot(entry.slot);
  }

  private async releaseSlot(slot: ConnectionSlot): Promise<void> {
    try {
      await slot.release();
    } catch (error) {
      // The slot's lease runs out on its own; nothing is held for ever.
      this.logger.warn(
        { code: 'EGRESS_SLOT_RELEASE_FAILED', host: slot.host, err: error },
        'connection slot not released',
      );
    }
  }

  /**
   * After the delivery worker stopped (JobProcessor, onModuleDestroy): ends the idle connections,
   * gives their slots back, then closes the limits' Redis connection, in that order.
   */
  async onApplicationShutdown(): Promise<void> {
    this.closing = true;
    const entries = [...this.idle.values()].flat();
    this.idle.clear();
    for (const entry of entries) {
      clearTimeout(entry.timer);
      entry.session.quit();
    }
    await Promise.all(entries.map((e) => this.releaseSlot(e.slot)));
    await this.limits.close();
  }
}

function keyOf(endpoint: SmtpEndpoint): string {
  return [
    endpoint.address,
    endpoint.port,
    endpoint.host.toLowerCase(),
    endpoint.tls,
    endpoint.localAddress ?? '',
    endpoint.auth?.user ?? '',
    // A changed password must not ride on a connection authenticated with the old one.
    endpoint.auth === undefined ? '' : createHash('sha256').update(endpoint.auth.pass).digest('base64'),
  ].join('|');
}
