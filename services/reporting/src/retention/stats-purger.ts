import type { RelayConfig } from '@ser/config';
import { EventRepository, StatsRepository } from '@ser/data';
import type { Logger } from '@ser/logger';
import { CONFIG, LOGGER, ReplicaTurn } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import { retentionCutoffs } from './retention-policy';

/** What one purge pass deleted. */
export interface PurgeResult {
  hourBuckets: number;
  dayBuckets: number;
  events: number;
  /** A kind hit its batch limit: the rest waits for the next turn. */
  more: boolean;
}

/** How often one replica purges. */
export const STATS_PURGE_INTERVAL_MS = 3_600_000;
/** Documents per delete, and how long a pass may go on deleting (what is left waits a turn). */
export interface PurgeLimits {
  batch: number;
  runBudgetMs: number;
}

/**
 * Batches of 1000, for up to a third of the interval per kind: bounded work per turn, yet no fixed
 * daily ceiling (the pace is the database's), so a busy relay's events do not outgrow retention.
 */
const DEFAULT_LIMITS: PurgeLimits = { batch: 1000, runBudgetMs: STATS_PURGE_INTERVAL_MS / 3 };

/**
 * Deletes hour buckets, day buckets and raw events older than their retention
 * (SER_REPORTING_*_RETENTION_DAYS), in bounded batches, on one replica per interval. Every
 * delete is by age only, so overlapping passes are harmless; settle and rebuild never rewrite the
 * days whose events may be gone (retention-policy.ts).
 */
@Injectable()
export class StatsPurger extends ReplicaTurn<PurgeResult> {
  /** Tests use small batches; production keeps the defaults. */
  limits: PurgeLimits = DEFAULT_LIMITS;

  constructor(
    @Inject(CONFIG) config: RelayConfig,
    @Inject(LOGGER) logger: Logger,
    private readonly stats: StatsRepository,
    private readonly events: EventRepository,
  ) {
    super(config, logger, {
      service: 'reporting',
      name: 'purge',
      intervalMs: STATS_PURGE_INTERVAL_MS,
      failureCode: 'REPORTING_PURGE_FAILED',
      failureText: 'statistics and events purge failed',
    });
  }

  protected async pass(now: Date): Promise<PurgeResult> {
    const cutoff = retentionCutoffs(now, this.config);
    const hours = await batched(this.limits, (n) => this.stats.purgeBuckets('hour', cutoff.hourBuckets, n));
    const days = await batched(this.limits, (n) => this.stats.purgeBuckets('day', cutoff.dayBuckets, n));
    const events = await batched(this.limits, (n) => this.events.purgeBefore(cutoff.events, n));
    const result: PurgeResult = {
      hourBuckets: hours.deleted,
      dayBuckets: days.deleted,
      events: events.deleted,
      more: hours.more || days.more || events.more,
    };
    if (result.hourBuckets + result.dayBuckets + result.events > 0) {
      this.logger.info(
        {
          code: 'REPORTING_PURGED',
          ...result,
          hourBucketsBefore: cutoff.hourBuckets,
          dayBucketsBefore: cutoff.dayBuckets,
          eventsBefore: cutoff.events,
        },
        'statistics and events past retention deleted',
      );
    }
    return result;
  }
}

/** Deletes batch after batch until one comes back short or the time is up (then `more`). */
async function batched(
  limits: PurgeLimits,
  purge: (limit: number) => Promise<number>,
): Promise<{ deleted: number; more: boolean }> {
  const started = Date.now();
  let deleted = 0;
  for (;;) {
    const n = await purge(limits.batch);
    deleted += n;
    if (n < limits.batch) {
      return { deleted, more: false };
    }
    if (Date.now() - started >= limits.runBudgetMs) {
      return { deleted, more: true };
    }
  }
}
