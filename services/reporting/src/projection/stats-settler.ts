import type { RelayConfig } from '@ser/config';
import { STATS_SETTLE_GRACE_MS, StatsRepository } from '@ser/data';
import type { SettleResult } from '@ser/data';
import type { Logger } from '@ser/logger';
import { CONFIG, LOGGER, ReplicaTurn } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import { rebuildableFrom } from '../retention/retention-policy';

/** Each pass also recomputes the days of the events stored in this last stretch of time. */
export const STATS_SETTLE_RECENT_MS = 2 * 3_600_000;

/**
 * Every SER_REPORTING_SETTLE_INTERVAL_MS, one reporting replica recomputes the buckets of events
 * whose increments were never confirmed (a crash between storing and applying), so the statistics
 * never keep a drift. Idempotent and safe next to live increments (StatsRepository.settle); days
 * whose raw events the purge may have started deleting are never rewritten.
 */
@Injectable()
export class StatsSettler extends ReplicaTurn<SettleResult> {
  constructor(
    @Inject(CONFIG) config: RelayConfig,
    @Inject(LOGGER) logger: Logger,
    private readonly stats: StatsRepository,
  ) {
    super(config, logger, {
      service: 'reporting',
      name: 'settle',
      intervalMs: config.SER_REPORTING_SETTLE_INTERVAL_MS,
      failureCode: 'REPORTING_SETTLE_FAILED',
      failureText: 'statistics settle failed',
    });
  }

  protected async pass(now: Date): Promise<SettleResult> {
    const result = await this.stats.settle(
      now,
      STATS_SETTLE_GRACE_MS,
      STATS_SETTLE_RECENT_MS,
      rebuildableFrom(now, this.config.SER_REPORTING_EVENT_RETENTION_DAYS),
    );
    if (result.repaired > 0 || result.conflicts > 0) {
      this.logger.warn({ code: 'REPORTING_STATS_SETTLED', ...result }, 'statistics buckets recomputed');
    }
    return result;
  }
}
