import type { RelayConfig } from '@ser/config';
import { MessageRepository, TenantConfigRepository } from '@ser/data';
import type { Logger } from '@ser/logger';
import type { MessageStore } from '@ser/mongo';
import { createRedis } from '@ser/queue';
import { CONFIG, LOGGER, MESSAGE_STORE } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import type { OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { once } from 'node:events';
import { MessageTombstoneRepository } from './message-tombstone.repository';
import { IN_PIPELINE_STATES, retentionCutoff } from './retention-policy';

export interface RetentionResult {
  /** Message records this run deleted (with their recipients and bodies). */
  deleted: number;
  /** Removals a previous run left half done, finished. */
  resumed: number;
  /** Tombstones old enough to forget. */
  tombstonesForgotten: number;
}

/** How often one replica looks for messages past retention. */
export const RETENTION_INTERVAL_MS = 3_600_000;
/** Messages per query; a tenant gets at most MAX_BATCHES of them per run, the rest waits a turn. */
const BATCH = 200;
const MAX_BATCHES = 50;
/** Tombstones are forgotten after about 13 months, like the statistics. */
const TOMBSTONE_DAYS = 400;

/**
 * Deletes what is past each tenant's retention: the message record, its recipient ledger and its
 * body, leaving a tombstone. Raw events and statistics stay (reporting rebuilds statistics from
 * events). One replica per interval takes the turn (a Redis lock), but every step is idempotent
 * and every delete conditional, so overlapping runs are safe.
 */
@Injectable()
export class RetentionService implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  /** For the turn lock; opened on first use. */
  private redis: Redis | undefined;

  constructor(
    @Inject(CONFIG) private readonly config: RelayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Inject(MESSAGE_STORE) private readonly store: MessageStore,
    private readonly messages: MessageRepository,
    private readonly tenants: TenantConfigRepository,
    private readonly tombstones: MessageTombstoneRepository,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.running = this.purgeIfOurTurn().catch((err: unknown) =>
        this.logger.warn({ code: 'ADMIN_RETENTION_FAILED', err }, 'retention run failed'),
      );
    }, RETENTION_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    this.redis?.disconnect();
  }

  /** One run, unless another replica holds the turn for this interval. */
  async purgeIfOurTurn(now = Date.now()): Promise<RetentionResult | undefined> {
    const redis = (this.redis ??= createRedis(this.config.REDIS_URL, 'producer'));
    if (redis.status !== 'ready') {
      await Promise.race([once(redis, 'ready'), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    }
    const key = `${this.config.SER_QUEUE_PREFIX}:admin:retention-lock`;
    const turn = await redis.set(key, '1', 'PX', RETENTION_INTERVAL_MS, 'NX');
    return turn === 'OK' ? this.purge(now) : undefined;
  }

  async purge(now = Date.now()): Promise<RetentionResult> {
    const result: RetentionResult = { deleted: 0, resumed: 0, tombstonesForgotten: 0 };
    for (const tombstone of await this.tombstones.listPending(BATCH)) {
      if ((await this.remove(tombstone, now)) !== 'kept') {
        result.resumed += 1;
      }
    }
    const tenants = this.tenants.tenants.find({}, { projection: { _id: 1, retentionDays: 1 } });
    for await (const tenant of tenants) {
      result.deleted += await this.purgeTenant(tenant._id, retentionCutoff(tenant, now), now);
    }
    result.tombstonesForgotten = await this.tombstones.deleteBefore(
      new Date(now - TOMBSTONE_DAYS * 86_400_000),
    );
    if (result.deleted + result.resumed + result.tombstonesForgotten > 0) {
      this.logger.info({ code: 'ADMIN_RETENTION_DELETED', ...result }, 'deleted messages past retention');
    }
    return result;
  }

  private async purgeTenant(tenantId: string, cutoff: Date, now: number): Promise<number> {
    let deleted = 0;
    for (let batch = 0; batch < MAX_BATCHES; batch += 1) {
      const due = await this.messages.listCreatedBefore(tenantId, cutoff, IN_PIPELINE_STATES, BATCH);
      for (const message of due) {
        if ((await this.remove(message, now)) === 'deleted') {
          deleted += 1;
        }
      }
      if (due.length < BATCH) {
        break;
      }
    }
    return deleted;
  }

  /**
   * Tombstone first (so the download answers 410 from the first step on), then the record (only if
   * it has not gone back into the pipeline meanwhile), then what hangs off it. `deleted` only for
   * the call that deleted the record, so concurrent runs count each message once.
   */
  private async remove(
    message: { _id: string; tenantId: string; createdAt: Date },
    now: number,
  ): Promise<'deleted' | 'cleaned' | 'kept'> {
    await this.tombstones.begin(message, new Date(now));
    const deleted = await this.messages.deleteUnlessIn(message._id, IN_PIPELINE_STATES);
    if (!deleted && (await this.messages.findById(message._id)) !== null) {
      // An operator sent it through the pipeline again: it stays until it is final.
      await this.tombstones.abandon(message._id);
      return 'kept';
    }
    await this.messages.deleteRecipients(message._id);
    await this.deleteBody(message._id);
    await this.tombstones.finish(message._id);
    return deleted ? 'deleted' : 'cleaned';
  }

  private async deleteBody(messageId: string): Promise<void> {
    try {
      await this.store.delete(messageId);
    } catch (error) {
      // Another run deleted the same file between our lookup and our delete.
      if (await this.store.exists(messageId)) {
        throw error;
      }
    }
  }
}
