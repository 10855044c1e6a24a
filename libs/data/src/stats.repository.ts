import type { RelayEvent } from '@ser/contracts';
import { MongoBulkWriteError, MongoServerError, WriteError } from 'mongodb';
import type { AnyBulkWriteOperation, Collection, Db, Filter } from 'mongodb';
import type { EventDocument, EventStats, StatMetric, StatsDocument } from './documents';
import { COLLECTIONS } from './documents';
import { bucketRanges, dayOf, hourOf, statsId } from './stats-buckets';
import { isDuplicateKeyError } from './tenant-config.repository';

/** A statistics query: one tenant (`''`: relay-wide events), optionally one application, `[from, to)`. */
export interface StatsQuery {
  tenantId: string;
  appId?: string;
  /** Whole UTC hours; `to` excluded. */
  from: Date;
  to: Date;
}

/** metric → key → count (`''` for keyless metrics). */
export type StatsSummary = Record<string, Record<string, number>>;

export interface SettleResult {
  /** Tenant/application/day scopes recomputed. */
  scopes: number;
  /** Scopes left for a later pass: an event of theirs was still being applied, or a bucket changed meanwhile. */
  conflicts: number;
  /** Stored events whose increments were never confirmed, now accounted for. */
  repaired: number;
}

export interface RebuildResult extends SettleResult {
  /** Events whose derived statistics fields were written or changed. */
  derived: number;
}

/** A stored event not applied after this long is taken as left by a crash (docs/reporting.md). */
export const STATS_SETTLE_GRACE_MS = 5 * 60_000;
const SETTLE_BATCH = 1000;
const REBUILD_ATTEMPTS = 5;

interface Scope {
  tenantId: string;
  appId: string;
  day: Date;
}

/**
 * Time-bucketed statistics projected from the raw events, exactly once without transactions:
 * an event is stored once with its derived counters (`stats`), its increments are applied only
 * when it was new, and then it is marked applied. A crash in between leaves it unapplied; `settle`
 * recomputes its day's buckets from the raw events, writing each bucket only if it did not change
 * since it was read, so concurrent live increments are never lost or counted twice. Written by
 * reporting only; read by admin.
 */
export class StatsRepository {
  readonly stats: Collection<StatsDocument>;
  readonly events: Collection<EventDocument>;

  /**
   * `queryMaxMs` bounds each report query on the server (`maxTimeMS`): past it the database stops
   * the query and the caller gets a MaxTimeMSExpired error (`isQueryTimeout`), instead of a scan
   * that goes on after its client gave up. Undefined: no bound (reporting's own writes and settles).
   */
  constructor(
    db: Db,
    private readonly queryMaxMs?: number,
  ) {
    this.stats = db.collection(COLLECTIONS.stats);
    this.events = db.collection(COLLECTIONS.events);
  }

  /** Stores the event and applies its counters; false (and nothing changed) when it was already stored. */
  async record(event: RelayEvent, metrics: StatMetric[], now = new Date()): Promise<boolean> {
    const { id, at, ...rest } = event;
    const stats = deriveStats(event, metrics, now);
    try {
      await this.events.insertOne({ ...rest, _id: id, at: new Date(at), stats });
    } catch (error) {
      if (isDuplicateKeyError(error)) {
        return false;
      }
      throw error;
    }
    if (!stats.applied) {
      await this.increment(increments(stats));
      await this.events.updateOne({ _id: id, 'stats.applied': false }, { $set: { 'stats.applied': true } });
    }
    return true;
  }

  /**
   * Two replicas creating the same bucket at once: one upsert fails with a duplicate key and
   * applied nothing (MongoDB and FerretDB both do this), so exactly the failed ones run again.
   */
  private async increment(ops: AnyBulkWriteOperation<StatsDocument>[]): Promise<void> {
    let pending = ops;
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.stats.bulkWrite(pending, { ordered: false });
        return;
      } catch (error) {
        if (!(error instanceof MongoBulkWriteError) || !onlyDuplicateKeys(error) || attempt >= 5) {
          throw error;
        }
        const failed = new Set(writeErrorsOf(error).map((w) => w.index));
        pending = pending.filter((_, i) => failed.has(i));
      }
    }
  }

  /**
   * Recomputes the buckets of the days of events stored more than `graceMs` ago and never marked
   * applied (a crash between storing and applying, or a failed increment), then marks them; with
   * `recentMs`, also the days of every event stored in that last stretch of time. With
   * `coveredFrom` (a UTC day start), days before it are never rewritten: their raw events may
   * have been purged, so recomputing them would shrink the kept buckets.
   */
  async settle(
    now = new Date(),
    graceMs = STATS_SETTLE_GRACE_MS,
    recentMs = 0,
    coveredFrom?: Date,
  ): Promise<SettleResult> {
    const cutoff = new Date(now.getTime() - graceMs);
    const covered = coveredFrom === undefined ? {} : { 'stats.day': { $gte: coveredFrom } };
    const stale = await this.events
      .find(
        { 'stats.applied': false, 'stats.recordedAt': { $lt: cutoff }, ...covered },
        { projection: { stats: 1 } },
      )
      .limit(SETTLE_BATCH)
      .toArray();
    const scopes = new Map<string, Scope>();
    for (const { stats } of stale) {
      if (stats !== undefined) {
        const scope = { tenantId: stats.tenantId, appId: stats.appId, day: stats.day };
        scopes.set(scopeKey(scope), scope);
      }
    }
    if (recentMs > 0) {
      // FerretDB 1.24 applies concurrent $inc to one document as read-modify-write and can lose
      // some (docs/reporting.md): the days of recent events are recomputed as well.
      const recent = this.events.aggregate<{ _id: Scope }>([
        { $match: { 'stats.recordedAt': { $gte: new Date(now.getTime() - recentMs) }, ...covered } },
        { $group: { _id: { tenantId: '$stats.tenantId', appId: '$stats.appId', day: '$stats.day' } } },
      ]);
      for await (const { _id } of recent) {
        scopes.set(scopeKey(_id), _id);
      }
    }
    const result: SettleResult = { scopes: 0, conflicts: 0, repaired: 0 };
    for (const scope of scopes.values()) {
      await this.settleScopeInto(scope, cutoff, result);
    }
    return result;
  }

  /**
   * Recomputes every bucket from the raw events: derives the counters of each event again with
   * `derive` (events stored before statistics existed, or a changed mapping), then settles every
   * tenant/application/day that has events or buckets. Safe while the service runs. With
   * `coveredFrom` (a UTC day start), only the days from then on, the ones whose raw events are all
   * still kept, are rederived and rewritten; older buckets stay exactly as they are.
   */
  async rebuild(
    derive: (event: EventDocument) => StatMetric[],
    now = new Date(),
    graceMs = STATS_SETTLE_GRACE_MS,
    coveredFrom?: Date,
  ): Promise<RebuildResult> {
    const derived = await this.rederive(derive, coveredFrom);
    const scopes = new Map<string, Scope>();
    const fromEvents = this.events.aggregate<{ _id: Scope }>([
      {
        $match:
          coveredFrom === undefined ? { stats: { $exists: true } } : { 'stats.day': { $gte: coveredFrom } },
      },
      { $group: { _id: { tenantId: '$stats.tenantId', appId: '$stats.appId', day: '$stats.day' } } },
    ]);
    const fromBuckets = this.stats.aggregate<{ _id: Scope }>([
      { $match: coveredFrom === undefined ? {} : { day: { $gte: coveredFrom } } },
      { $group: { _id: { tenantId: '$tenantId', appId: '$appId', day: '$day' } } },
    ]);
    for (const cursor of [fromEvents, fromBuckets]) {
      for await (const { _id } of cursor) {
        scopes.set(scopeKey(_id), _id);
      }
    }
    const result: RebuildResult = { scopes: 0, conflicts: 0, repaired: 0, derived };
    const cutoff = new Date(now.getTime() - graceMs);
    for (const scope of scopes.values()) {
      const tally: SettleResult = { scopes: 0, conflicts: 0, repaired: 0 };
      for (let attempt = 1; attempt <= REBUILD_ATTEMPTS; attempt += 1) {
        tally.conflicts = 0;
        await this.settleScopeInto(scope, cutoff, tally);
        if (tally.conflicts === 0 || attempt === REBUILD_ATTEMPTS) {
          break;
        }
        await new Promise((resolve) => setTimeout(resolve, 100 * attempt));
      }
      result.scopes += tally.scopes;
      result.conflicts += tally.conflicts;
      result.repaired += tally.repaired;
    }
    return result;
  }

  /**
   * Deletes up to `limit` buckets of one granularity that start before `before`, oldest first;
   * returns how many. Called again until it returns less than `limit`.
   */
  async purgeBuckets(
    granularity: StatsDocument['granularity'],
    before: Date,
    limit: number,
  ): Promise<number> {
    const filter: Filter<StatsDocument> = { granularity, bucket: { $lt: before } };
    const due = await this.stats
      .find(filter, { projection: { _id: 1 } })
      .sort({ bucket: 1 })
      .limit(limit)
      .toArray();
    if (due.length === 0) {
      return 0;
    }
    const res = await this.stats.deleteMany({ ...filter, _id: { $in: due.map((d) => d._id) } });
    return res.deletedCount;
  }

  /** metric → key → count for the period. */
  async summary(q: StatsQuery): Promise<StatsSummary> {
    const out: StatsSummary = {};
    for (const row of await this.sum(q, { metric: '$metric', key: '$key' })) {
      add(out, row._id.metric, row._id.key, row.count);
    }
    return out;
  }

  /** appId → metric → key → count for the period (`''`: events of the tenant without application). */
  async byApplication(q: Omit<StatsQuery, 'appId'>): Promise<Record<string, StatsSummary>> {
    const out: Record<string, StatsSummary> = {};
    for (const row of await this.sum(q, { appId: '$appId', metric: '$metric', key: '$key' })) {
      add((out[row._id.appId] ??= {}), row._id.metric, row._id.key, row.count);
    }
    return out;
  }

  /** The `limit` keys of one metric with the highest counts (ties by key). */
  async top(q: StatsQuery, metric: string, limit: number): Promise<{ key: string; count: number }[]> {
    const rows = await this.sum(q, { key: '$key' }, metric);
    return topKeys(Object.fromEntries(rows.map((row) => [row._id.key, row.count])), limit);
  }

  private async sum<K extends Partial<Record<'appId' | 'metric' | 'key', string>>>(
    q: StatsQuery,
    group: K,
    metric?: string,
  ): Promise<{ _id: { [P in keyof K]: string }; count: number }[]> {
    const { days, hours } = bucketRanges(q.from, q.to);
    const periods: Filter<StatsDocument>[] = hours.map((h) => ({
      granularity: 'hour',
      bucket: { $gte: h.from, $lt: h.to },
    }));
    if (days !== undefined) {
      periods.push({ granularity: 'day', bucket: { $gte: days.from, $lt: days.to } });
    }
    if (periods.length === 0) {
      return [];
    }
    const match: Filter<StatsDocument> = {
      tenantId: q.tenantId,
      ...(q.appId === undefined ? {} : { appId: q.appId }),
      ...(metric === undefined ? {} : { metric }),
      $or: periods,
    };
    const rows = await this.stats
      .aggregate<{ _id: { [P in keyof K]: string }; count: number }>(
        [{ $match: match }, { $group: { _id: group, count: { $sum: '$count' } } }],
        this.queryMaxMs === undefined ? {} : { maxTimeMS: this.queryMaxMs },
      )
      .toArray();
    return rows.filter((row) => row.count > 0);
  }

  /**
   * Makes the buckets of one tenant/application/day equal to its raw events. Buckets are read
   * before the events, and each write is conditional on the count read, so an increment that
   * lands in between makes the write miss (a conflict, retried later) instead of being lost; an
   * event still being applied (unapplied and recent) makes the whole scope wait.
   */
  private async settleScopeInto(scope: Scope, inFlightAfter: Date, result: SettleResult): Promise<void> {
    const { tenantId, appId, day } = scope;
    const before = new Map<string, number>();
    for (const doc of await this.stats
      .find({ tenantId, appId, day }, { projection: { count: 1 } })
      .toArray()) {
      before.set(doc._id, doc.count);
    }
    const after = new Map<string, StatsDocument>();
    const stale: string[] = [];
    const cursor = this.events.find(
      { 'stats.tenantId': tenantId, 'stats.appId': appId, 'stats.day': day },
      { projection: { stats: 1 } },
    );
    for await (const { _id, stats } of cursor) {
      if (stats === undefined) {
        continue;
      }
      if (!stats.applied) {
        if (stats.recordedAt >= inFlightAfter) {
          result.conflicts += 1;
          return;
        }
        stale.push(_id);
      }
      for (const doc of bucketDocs(stats, 1)) {
        const seen = after.get(doc._id);
        if (seen === undefined) {
          after.set(doc._id, doc);
        } else {
          seen.count += 1;
        }
      }
    }
    if (!(await this.writeConditionally(before, after))) {
      result.conflicts += 1;
      return;
    }
    result.scopes += 1;
    if (stale.length > 0) {
      const marked = await this.events.updateMany(
        { _id: { $in: stale }, 'stats.applied': false },
        { $set: { 'stats.applied': true } },
      );
      result.repaired += marked.modifiedCount;
    }
  }

  /** True when every bucket still had the count read before and now has the recomputed one. */
  private async writeConditionally(
    before: Map<string, number>,
    after: Map<string, StatsDocument>,
  ): Promise<boolean> {
    const ops: AnyBulkWriteOperation<StatsDocument>[] = [];
    let expected = 0;
    for (const [id, count] of before) {
      const doc = after.get(id);
      expected += 1;
      ops.push(
        doc === undefined
          ? { deleteOne: { filter: { _id: id, count } } }
          : { updateOne: { filter: { _id: id, count }, update: { $set: { count: doc.count } } } },
      );
    }
    for (const [id, doc] of after) {
      if (!before.has(id)) {
        ops.push({ insertOne: { document: doc } });
      }
    }
    if (ops.length === 0) {
      return true;
    }
    try {
      const res = await this.stats.bulkWrite(ops, { ordered: false });
      return res.matchedCount + res.deletedCount === expected;
    } catch (error) {
      // A bucket created meanwhile by a live increment: a conflict, not a failure.
      if (error instanceof MongoBulkWriteError && onlyDuplicateKeys(error)) {
        return false;
      }
      throw error;
    }
  }

  private async rederive(
    derive: (event: EventDocument) => StatMetric[],
    coveredFrom: Date | undefined,
  ): Promise<number> {
    let changed = 0;
    let ops: AnyBulkWriteOperation<EventDocument>[] = [];
    const flush = async (): Promise<void> => {
      if (ops.length > 0) {
        await this.events.bulkWrite(ops, { ordered: false });
        changed += ops.length;
        ops = [];
      }
    };
    const filter: Filter<EventDocument> = coveredFrom === undefined ? {} : { at: { $gte: coveredFrom } };
    for await (const doc of this.events.find(filter).batchSize(SETTLE_BATCH)) {
      const metrics = derive(doc);
      // Marked unapplied with an old recordedAt, so a scope the rebuild cannot settle now (a
      // conflict) is settled by the next pass instead of keeping the old counts.
      if (doc.stats === undefined) {
        const stats = { ...deriveStats(doc, metrics, doc.at), applied: metrics.length === 0 };
        ops.push({ updateOne: { filter: { _id: doc._id }, update: { $set: { stats } } } });
      } else if (JSON.stringify(doc.stats.metrics) !== JSON.stringify(metrics)) {
        ops.push({
          updateOne: {
            filter: { _id: doc._id },
            update: {
              $set: { 'stats.metrics': metrics, 'stats.applied': false, 'stats.recordedAt': doc.at },
            },
          },
        });
      }
      if (ops.length >= SETTLE_BATCH) {
        await flush();
      }
    }
    await flush();
    return changed;
  }
}

function deriveStats(
  event: Pick<RelayEvent, 'tenantId' | 'appId'> & { at: string | Date },
  metrics: StatMetric[],
  now: Date,
): EventStats {
  const at = new Date(event.at);
  return {
    tenantId: event.tenantId ?? '',
    appId: event.appId ?? '',
    hour: hourOf(at),
    day: dayOf(at),
    metrics,
    applied: metrics.length === 0,
    recordedAt: now,
  };
}

/** The hour and day bucket documents an event's counters add `count` to. */
function bucketDocs(stats: EventStats, count: number): StatsDocument[] {
  const docs: StatsDocument[] = [];
  for (const { metric, key } of stats.metrics) {
    for (const [granularity, bucket] of [
      ['hour', stats.hour],
      ['day', stats.day],
    ] as const) {
      const base = { tenantId: stats.tenantId, appId: stats.appId, granularity, bucket, metric, key };
      docs.push({ _id: statsId(base), ...base, day: stats.day, count });
    }
  }
  return docs;
}

function increments(stats: EventStats): AnyBulkWriteOperation<StatsDocument>[] {
  return bucketDocs(stats, 1).map(({ _id, count, ...fields }) => ({
    updateOne: { filter: { _id }, update: { $inc: { count }, $setOnInsert: fields }, upsert: true },
  }));
}

function writeErrorsOf(error: MongoBulkWriteError): readonly WriteError[] {
  const { writeErrors } = error;
  return writeErrors instanceof WriteError ? [writeErrors] : writeErrors;
}

function onlyDuplicateKeys(error: MongoBulkWriteError): boolean {
  const writeErrors = writeErrorsOf(error);
  return writeErrors.length > 0 && writeErrors.every((w) => w.code === 11000);
}

function scopeKey(scope: Scope): string {
  return `${scope.tenantId}/${scope.appId}/${new Date(scope.day).toISOString()}`;
}

function add(out: StatsSummary, metric: string, key: string, count: number): void {
  const keys = (out[metric] ??= {});
  keys[key] = (keys[key] ?? 0) + count;
}

/**
 * The `limit` keys with the highest counts, ties by key: what `top` answers, also for a summary
 * already read (one query for a whole report instead of one per list).
 */
export function topKeys(
  byKey: Readonly<Record<string, number>> | undefined,
  limit: number,
): { key: string; count: number }[] {
  return Object.entries(byKey ?? {})
    .filter(([, count]) => count > 0)
    .map(([key, count]) => ({ key, count }))
    .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .slice(0, Math.max(0, limit));
}

/** The server stopped a query at its `maxTimeMS` (code 50, MaxTimeMSExpired). */
export function isQueryTimeout(error: unknown): boolean {
  return error instanceof MongoServerError && error.code === 50;
}

export const statsIndexes = [
  { collection: COLLECTIONS.stats, key: { tenantId: 1, granularity: 1, bucket: 1 } },
  { collection: COLLECTIONS.stats, key: { tenantId: 1, appId: 1, day: 1 } },
  // Retention purge, across tenants.
  { collection: COLLECTIONS.stats, key: { granularity: 1, bucket: 1 } },
  { collection: COLLECTIONS.events, key: { 'stats.applied': 1, 'stats.recordedAt': 1 } },
  { collection: COLLECTIONS.events, key: { 'stats.tenantId': 1, 'stats.appId': 1, 'stats.day': 1 } },
] as const;
