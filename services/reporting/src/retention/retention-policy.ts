import type { RelayConfig } from '@ser/config';
import { DAY_MS, dayOf } from '@ser/data';

/** The first instant each kind of reporting data is kept from; everything before it is purged. */
export interface RetentionCutoffs {
  hourBuckets: Date;
  dayBuckets: Date;
  events: Date;
}

type RetentionSettings = Pick<
  RelayConfig,
  | 'SER_REPORTING_EVENT_RETENTION_DAYS'
  | 'SER_REPORTING_HOURLY_STATS_RETENTION_DAYS'
  | 'SER_REPORTING_STATS_RETENTION_DAYS'
>;

/**
 * Whole UTC days: `days` full days before today are kept, plus today. Cutting on day boundaries
 * keeps every day either whole or gone, in the events and in the buckets alike.
 */
export function keptFrom(now: Date, days: number): Date {
  return new Date(dayOf(now).getTime() - days * DAY_MS);
}

export function retentionCutoffs(now: Date, config: RetentionSettings): RetentionCutoffs {
  return {
    hourBuckets: keptFrom(now, config.SER_REPORTING_HOURLY_STATS_RETENTION_DAYS),
    dayBuckets: keptFrom(now, config.SER_REPORTING_STATS_RETENTION_DAYS),
    events: keptFrom(now, config.SER_REPORTING_EVENT_RETENTION_DAYS),
  };
}

/**
 * The first day settle and rebuild may rewrite from the raw events: one day after the event
 * cutoff, so a purge on a replica whose clock already passed midnight (or a rebuild that runs
 * across it) never deletes events of a day that is being recomputed.
 */
export function rebuildableFrom(now: Date, eventRetentionDays: number): Date {
  return new Date(keptFrom(now, eventRetentionDays).getTime() + DAY_MS);
}
