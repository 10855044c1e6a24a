import type { StatMetric, StatsDocument } from '@ser/data';
import { dayOf, hourOf, statsId } from '@ser/data';

/**
 * The statistics buckets a set of events gives, built in memory: the same documents
 * `StatsRepository.record` would leave after `$inc`-upserting every event's counters into its hour
 * and its day bucket (`_id` from `statsId`, hour and day from `hourOf`/`dayOf`), without a million
 * round trips. Hour buckets are counted per event; day buckets are their sums, which is what the
 * per-event day increments add up to.
 */
export class BucketBuilder {
  private readonly hours = new Map<string, StatsDocument>();

  /** Adds 1 to each counter of `metrics` in the hour of `at`. */
  add(tenantId: string, appId: string, at: Date, metrics: readonly StatMetric[]): void {
    if (metrics.length === 0) {
      return;
    }
    const bucket = hourOf(at);
    const hourMs = bucket.getTime();
    for (const { metric, key } of metrics) {
      // A cheap map key; the document's real `_id` is computed once, when it is created.
      const mapKey = `${tenantId}\u0000${appId}\u0000${String(hourMs)}\u0000${metric}\u0000${key}`;
      const doc = this.hours.get(mapKey);
      if (doc === undefined) {
        this.hours.set(mapKey, bucketDoc('hour', tenantId, appId, bucket, metric, key, 1));
      } else {
        doc.count += 1;
      }
    }
  }

  /** Every hour bucket, then every day bucket. */
  documents(): StatsDocument[] {
    const days = new Map<string, StatsDocument>();
    for (const hour of this.hours.values()) {
      const bucket = dayOf(hour.bucket);
      const id = statsId({ ...hour, granularity: 'day', bucket });
      const day = days.get(id);
      if (day === undefined) {
        days.set(id, bucketDoc('day', hour.tenantId, hour.appId, bucket, hour.metric, hour.key, hour.count));
      } else {
        day.count += hour.count;
      }
    }
    return [...this.hours.values(), ...days.values()];
  }
}

function bucketDoc(
  granularity: StatsDocument['granularity'],
  tenantId: string,
  appId: string,
  bucket: Date,
  metric: string,
  key: string,
  count: number,
): StatsDocument {
  const base = { tenantId, appId, granularity, bucket, metric, key };
  return { _id: statsId(base), ...base, day: dayOf(bucket), count };
}
