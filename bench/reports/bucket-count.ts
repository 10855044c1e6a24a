import type { StatsDocument, TimeRange } from '@ser/data';
import { bucketRanges } from '@ser/data';

/** A statistics query as `StatsRepository` takes it. */
export interface BucketQuery {
  tenantId: string;
  appId?: string;
  from: Date;
  to: Date;
}

/**
 * How many of the seeded bucket documents `StatsRepository`'s `$match` selects for `q` (day
 * buckets for the whole UTC days, hour buckets for the partial ends, from `bucketRanges`). Counted
 * in memory: on FerretDB a `countDocuments` scans the whole collection, which would cost more
 * than the benchmark itself.
 */
export function countSelected(docs: readonly StatsDocument[], q: BucketQuery, metric?: string): number {
  const { days, hours } = bucketRanges(q.from, q.to);
  const inside = (t: number, range: TimeRange): boolean =>
    t >= range.from.getTime() && t < range.to.getTime();
  let n = 0;
  for (const doc of docs) {
    if (
      doc.tenantId !== q.tenantId ||
      (q.appId !== undefined && doc.appId !== q.appId) ||
      (metric !== undefined && doc.metric !== metric)
    ) {
      continue;
    }
    const t = doc.bucket.getTime();
    if (doc.granularity === 'day' ? days !== undefined && inside(t, days) : hours.some((h) => inside(t, h))) {
      n += 1;
    }
  }
  return n;
}
