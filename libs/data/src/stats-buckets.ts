export const HOUR_MS = 3_600_000;
export const DAY_MS = 86_400_000;

/** A half-open time range `[from, to)`. */
export interface TimeRange {
  from: Date;
  to: Date;
}

/** Which buckets answer a query: whole UTC days from day buckets, the rest from hour buckets. */
export interface BucketRanges {
  days?: TimeRange;
  hours: TimeRange[];
}

/** UTC start of the hour of `at`. */
export function hourOf(at: Date): Date {
  return new Date(Math.floor(at.getTime() / HOUR_MS) * HOUR_MS);
}

/** UTC start of the day of `at`. */
export function dayOf(at: Date): Date {
  return new Date(Math.floor(at.getTime() / DAY_MS) * DAY_MS);
}

/**
 * Splits `[from, to)` into day buckets for the whole UTC days inside it and hour buckets for the
 * partial days at either end. Throws a RangeError when a bound is not a whole UTC hour, or `to` is
 * before `from` (the caller aligns; a silently widened period would report the wrong numbers).
 */
export function bucketRanges(from: Date, to: Date): BucketRanges {
  const start = from.getTime();
  const end = to.getTime();
  if (Number.isNaN(start) || Number.isNaN(end) || start % HOUR_MS !== 0 || end % HOUR_MS !== 0) {
    throw new RangeError('statistics periods start and end on whole UTC hours');
  }
  if (end < start) {
    throw new RangeError('statistics period ends before it starts');
  }
  const firstDay = Math.ceil(start / DAY_MS) * DAY_MS;
  const lastDay = Math.floor(end / DAY_MS) * DAY_MS;
  if (firstDay >= lastDay) {
    return { hours: start < end ? [{ from, to }] : [] };
  }
  const hours: TimeRange[] = [];
  if (start < firstDay) {
    hours.push({ from, to: new Date(firstDay) });
  }
  if (lastDay < end) {
    hours.push({ from: new Date(lastDay), to });
  }
  return { days: { from: new Date(firstDay), to: new Date(lastDay) }, hours };
}
