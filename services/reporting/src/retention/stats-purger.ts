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
/** Documents per delete; each kind gets at most MAX_BATCHES of them per pass. */
const BATCH = 1000;
const MAX_BATCHES = 50;

/**
 * Deletes hour buckets, day buckets and raw events older than their retention
 * (SER_REPORTING_*_RETENTION_DAYS), in bounded batches, on one replica per interval. Every
 * delete is by age only, so overlapping passes are harmless; settle and rebuild never rewrite the
 * days whose events may be gone (retention-policy.ts).
 */
@Injectable()
export class StatsPurger extends ReplicaTurn<PurgeResult> {
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
    const hours = await batched((n) => this.stats.purgeBuckets('hour', cutoff.hourBuckets, n));
    const days = await batched((n) => this.stats.purgeBuckets('day', cutoff.dayBuckets, n));
    const events = await batched((n) => this.events.purgeBefore(cutoff.events, n));
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

async function batched(
  purge: (limit: number) => Promise<number>,
): Promise<{ deleted: number; more: boolean }> {
  let deleted = 0;
  for (let batch = 0; batch < MAX_BATCHES; batch += 1) {
    const n = await purge(BATCH);
    deleted += n;
    if (n < BATCH) {
      return { deleted, more: false };
    }
  }
  return { deleted, more: true };
}
