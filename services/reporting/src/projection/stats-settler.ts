import type { RelayConfig } from '@ser/config';
import { STATS_SETTLE_GRACE_MS, StatsRepository } from '@ser/data';
import type { SettleResult } from '@ser/data';
import type { Logger } from '@ser/logger';
import { createRedis } from '@ser/queue';
import { CONFIG, LOGGER } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import type { OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { once } from 'node:events';

/** How often one reporting replica settles the statistics (a constant, not configurable yet). */
export const STATS_SETTLE_INTERVAL_MS = 60_000;
/** Each pass also recomputes the days of the events stored in this last stretch of time. */
export const STATS_SETTLE_RECENT_MS = 2 * 3_600_000;

/**
 * Every minute, one reporting replica (a Redis turn lock) recomputes the buckets of events whose
 * increments were never confirmed (a crash between storing and applying), so the statistics never
 * keep a drift. Idempotent and safe next to live increments (StatsRepository.settle).
 */
@Injectable()
export class StatsSettler implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  /** For the turn lock; opened on first use. */
  private redis: Redis | undefined;

  constructor(
    @Inject(CONFIG) private readonly config: RelayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly stats: StatsRepository,
  ) {}

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.running = this.settleIfOurTurn().catch((err: unknown) =>
        this.logger.warn({ code: 'REPORTING_SETTLE_FAILED', err }, 'statistics settle failed'),
      );
    }, STATS_SETTLE_INTERVAL_MS);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    this.redis?.disconnect();
  }

  /** One pass, unless another replica holds the turn for this interval. */
  async settleIfOurTurn(now = new Date()): Promise<SettleResult | undefined> {
    const redis = (this.redis ??= createRedis(this.config.REDIS_URL, 'producer'));
    if (redis.status !== 'ready') {
      // A fresh connection (or one reconnecting): give it a moment, else skip this turn.
      await Promise.race([once(redis, 'ready'), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    }
    const key = `${this.config.SER_QUEUE_PREFIX}:reporting:settle-lock`;
    const turn = await redis.set(key, '1', 'PX', STATS_SETTLE_INTERVAL_MS, 'NX');
    if (turn !== 'OK') {
      return undefined;
    }
    const result = await this.stats.settle(now, STATS_SETTLE_GRACE_MS, STATS_SETTLE_RECENT_MS);
    if (result.repaired > 0 || result.conflicts > 0) {
      this.logger.warn({ code: 'REPORTING_STATS_SETTLED', ...result }, 'statistics buckets recomputed');
    }
    return result;
  }
}
