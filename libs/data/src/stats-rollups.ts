import type { StatMetric, StatsRollupDocument } from './documents';
import { bucketRanges, DAY_MS, dayOf, HOUR_MS } from './stats-buckets';

/**
 * Roll-up documents: every counter of one tenant for one hour or one day in one document, read by
 * `_id` (the only lookup FerretDB 1.24 answers without a scan: docs/performance.md). Pure helpers
 * shared by the repository's writes, settles and reads and by the benchmark's seeding.
 */

/** The most keys one application keeps per metric in one roll-up; the rest count under `OTHER_KEY`. */
export const ROLLUP_KEY_CAP = 100;
/** The key reads return for the counts past `ROLLUP_KEY_CAP` (never a real key: `topKeys` leaves it out). */
export const OTHER_KEY = '(other)';

/** metric → key → count, as stored (field names encoded). */
export type RollupCounts = Record<string, Record<string, number>>;

/** `<granularity>/<tenantId>/<bucket ISO>`. */
export function rollupId(
  granularity: StatsRollupDocument['granularity'],
  tenantId: string,
  bucket: Date,
): string {
  return `${granularity}/${tenantId}/${bucket.toISOString()}`;
}

const ENCODED_OTHER = '~~';
const ENCODED_EMPTY = '~';

/**
 * A key (an address, a domain, an IP, a reason, an application id, `''`) as a field name: `.`, `$`,
 * NUL, `%` and `~` are percent-encoded and `''` is `~`, so no key can make a path or an operator,
 * and `~~` (the overflow) is no key's encoding.
 */
export function encodeField(key: string): string {
  if (key === '') {
    return ENCODED_EMPTY;
  }
  return key.replace(
    // eslint-disable-next-line no-control-regex -- NUL is one of the characters a field name cannot hold.
    /[%.$~\u0000]/g,
    (c) => `%${c.charCodeAt(0).toString(16).padStart(2, '0').toUpperCase()}`,
  );
}

export function decodeField(field: string): string {
  if (field === ENCODED_EMPTY) {
    return '';
  }
  if (field === ENCODED_OTHER) {
    return OTHER_KEY;
  }
  return field.replace(/%([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(parseInt(hex, 16)));
}

/** Keys that count toward the cap: every key but the empty one of keyless metrics and the overflow. */
export function cappedKeys(keys: Readonly<Record<string, number>>): number {
  return Object.keys(keys).filter((k) => k !== ENCODED_EMPTY && k !== ENCODED_OTHER).length;
}

/**
 * The counts as a roll-up holds them: at most `cap` keys per metric (the highest counts, ties by
 * key), the rest summed under the overflow field. Live increments keep the first keys that came
 * instead; both are exact for every metric's total and for the keys they hold.
 */
export function capCounts(counts: RollupCounts, cap = ROLLUP_KEY_CAP): RollupCounts {
  const out: RollupCounts = {};
  for (const [metric, keys] of Object.entries(counts)) {
    const entries = Object.entries(keys).filter(([, n]) => n !== 0);
    if (entries.length === 0) {
      continue;
    }
    const kept = entries.filter(([k]) => k === ENCODED_EMPTY || k === ENCODED_OTHER);
    const ranked = entries
      .filter(([k]) => k !== ENCODED_EMPTY && k !== ENCODED_OTHER)
      .sort(([ka, a], [kb, b]) => b - a || (ka < kb ? -1 : ka > kb ? 1 : 0));
    const byKey: Record<string, number> = Object.fromEntries([...kept, ...ranked.slice(0, cap)]);
    const overflow = ranked.slice(cap).reduce((sum, [, n]) => sum + n, 0);
    if (overflow > 0) {
      byKey[ENCODED_OTHER] = (byKey[ENCODED_OTHER] ?? 0) + overflow;
    }
    out[metric] = byKey;
  }
  return out;
}

/** metric → number of capped keys, as `n.<app>` holds it. */
export function keyCounts(counts: RollupCounts): Record<string, number> {
  return Object.fromEntries(Object.entries(counts).map(([metric, keys]) => [metric, cappedKeys(keys)]));
}

/** True when two count maps hold the same non-zero counts, whatever their field order. */
export function sameCounts(a: RollupCounts | undefined, b: RollupCounts | undefined): boolean {
  const flat = (c: RollupCounts | undefined): string[] =>
    Object.entries(c ?? {})
      .flatMap(([metric, keys]) =>
        Object.entries(keys)
          .filter(([, n]) => n !== 0)
          .map(([key, n]) => `${metric}\u0000${key}\u0000${String(n)}`),
      )
      .sort();
  const fa = flat(a);
  const fb = flat(b);
  return fa.length === fb.length && fa.every((x, i) => x === fb[i]);
}

/**
 * Counts of events gathered in memory per roll-up document and application, then written out as
 * whole documents (the benchmark's seeding) or as one application's part of each (settle).
 */
export class RollupBuilder {
  private readonly docs = new Map<string, StatsRollupDocument>();

  /** Adds `count` to each counter of `metrics` in the hour and the day roll-ups of the tenant. */
  add(tenantId: string, appId: string, hour: Date, metrics: readonly StatMetric[], count = 1): void {
    if (metrics.length === 0) {
      return;
    }
    const app = encodeField(appId);
    for (const [granularity, bucket] of [
      ['hour', hour],
      ['day', dayOf(hour)],
    ] as const) {
      const id = rollupId(granularity, tenantId, bucket);
      let doc = this.docs.get(id);
      if (doc === undefined) {
        doc = { _id: id, tenantId, granularity, bucket, day: dayOf(bucket), a: {}, n: {}, v: {} };
        this.docs.set(id, doc);
      }
      const counts = (doc.a[app] ??= {});
      for (const { metric, key } of metrics) {
        const keys = (counts[encodeField(metric)] ??= {});
        const field = encodeField(key);
        keys[field] = (keys[field] ?? 0) + count;
      }
    }
  }

  /** One application's capped counts in the roll-up `id`, or undefined when it has none. */
  countsOf(id: string, appId: string): RollupCounts | undefined {
    const counts = this.docs.get(id)?.a[encodeField(appId)];
    return counts === undefined ? undefined : capCounts(counts);
  }

  /** Every roll-up as stored: counts capped, key counts and versions filled in. */
  documents(): StatsRollupDocument[] {
    return [...this.docs.values()].map((doc) => {
      const a: StatsRollupDocument['a'] = {};
      const n: StatsRollupDocument['n'] = {};
      const v: StatsRollupDocument['v'] = {};
      for (const [app, counts] of Object.entries(doc.a)) {
        a[app] = capCounts(counts);
        n[app] = keyCounts(a[app]);
        v[app] = 1;
      }
      return { ...doc, a, n, v };
    });
  }
}

/** One roll-up a query or a settle reads: its `_id` and what it is. */
export interface RollupTarget {
  _id: string;
  tenantId: string;
  granularity: StatsRollupDocument['granularity'];
  bucket: Date;
  day: Date;
}

function target(granularity: RollupTarget['granularity'], tenantId: string, bucket: Date): RollupTarget {
  return { _id: rollupId(granularity, tenantId, bucket), tenantId, granularity, bucket, day: dayOf(bucket) };
}

/** The day roll-up and the 24 hour roll-ups of one tenant's UTC day: what a settle of that day rewrites. */
export function dayTargets(tenantId: string, day: Date): RollupTarget[] {
  const start = dayOf(day).getTime();
  return [
    target('day', tenantId, new Date(start)),
    ...Array.from({ length: 24 }, (_, h) => target('hour', tenantId, new Date(start + h * HOUR_MS))),
  ];
}

/** The roll-ups that answer `[from, to)` (whole UTC hours): day roll-ups for whole days, hour ones for the rest. */
export function periodTargets(tenantId: string, from: Date, to: Date): RollupTarget[] {
  const { days, hours } = bucketRanges(from, to);
  const out: RollupTarget[] = [];
  if (days !== undefined) {
    for (let t = days.from.getTime(); t < days.to.getTime(); t += DAY_MS) {
      out.push(target('day', tenantId, new Date(t)));
    }
  }
  for (const range of hours) {
    for (let t = range.from.getTime(); t < range.to.getTime(); t += HOUR_MS) {
      out.push(target('hour', tenantId, new Date(t)));
    }
  }
  return out;
}

/**
 * The `$inc` of one live event in one roll-up: 1 for each counter, its key added only while the
 * application holds fewer than `cap` keys of that metric (as read just before; concurrent writers
 * can overshoot the cap by a few keys), else 1 to the overflow; and 1 to the application's version.
 */
export function liveIncrements(
  appId: string,
  metrics: readonly StatMetric[],
  current: { counts?: RollupCounts; held?: Record<string, number> },
  cap = ROLLUP_KEY_CAP,
): Record<string, number> {
  const app = encodeField(appId);
  const inc: Record<string, number> = { [`v.${app}`]: 1 };
  const add = (path: string): void => {
    inc[path] = (inc[path] ?? 0) + 1;
  };
  for (const { metric, key } of metrics) {
    const m = encodeField(metric);
    const field = encodeField(key);
    const base = `a.${app}.${m}`;
    const heldPath = `n.${app}.${m}`;
    if (key === '' || current.counts?.[m]?.[field] !== undefined || inc[`${base}.${field}`] !== undefined) {
      add(`${base}.${field}`);
    } else if ((current.held?.[m] ?? 0) + (inc[heldPath] ?? 0) < cap) {
      add(`${base}.${field}`);
      add(heldPath);
    } else {
      add(`${base}.${ENCODED_OTHER}`);
    }
  }
  return inc;
}
