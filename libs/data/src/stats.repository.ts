import type { RelayEvent } from '@ser/contracts';
import { MongoBulkWriteError, MongoServerError, WriteError } from 'mongodb';
import type { AnyBulkWriteOperation, Collection, Db, Filter, UpdateFilter } from 'mongodb';
import type { EventDocument, EventStats, StatMetric, StatsRollupDocument } from './documents';
import { COLLECTIONS } from './documents';
import { dayOf, hourOf } from './stats-buckets';
import {
  dayTargets,
  decodeField,
  encodeField,
  keyCounts,
  liveIncrements,
  OTHER_KEY,
  periodTargets,
  rollupId,
  RollupBuilder,
  sameCounts,
} from './stats-rollups';
import type { RollupCounts, RollupTarget } from './stats-rollups';
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
const UPSERT_ATTEMPTS = 5;
/** Roll-ups a report reads at once (each a lookup by `_id`). */
const READ_PARALLEL = 16;

interface Scope {
  tenantId: string;
  appId: string;
  day: Date;
}

/**
 * Time-bucketed statistics projected from the raw events, exactly once without transactions:
 * an event is stored once with its derived counters (`stats`), its increments are applied only
 * when it was new, and then it is marked applied. A crash in between leaves it unapplied; `settle`
 * recomputes its day's roll-ups from the raw events, writing each application's part only if it
 * did not change since it was read, so concurrent live increments are never lost or counted twice.
 * Counters live in roll-ups (one document per tenant and hour or day, `stats-rollups.ts`) that
 * reports read by `_id`. Written by reporting only; read by admin.
 */
export class StatsRepository {
  readonly rollups: Collection<StatsRollupDocument>;
  readonly events: Collection<EventDocument>;

  /**
   * `readLimitMs` bounds how long a report may spend reading its roll-ups: past it the read stops
   * and throws `StatsReadTimeoutError` (`isQueryTimeout`). Each lookup is one document by `_id`, so
   * nothing is left running on the server. Undefined: no bound (reporting's own writes and settles).
   */
  constructor(
    db: Db,
    private readonly readLimitMs?: number,
  ) {
    this.rollups = db.collection(COLLECTIONS.statsRollups);
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
      await this.increment(stats);
      await this.events.updateOne({ _id: id, 'stats.applied': false }, { $set: { 'stats.applied': true } });
    }
    return true;
  }

  /**
   * Adds 1 to each counter of the event in its hour and its day roll-up: one read of the
   * application's keys in each (for the key cap), then both upserts in one round trip. Two
   * replicas creating the same roll-up at once: one upsert fails with a duplicate key and applied
   * nothing (MongoDB and FerretDB both do this), so exactly the failed ones run again.
   */
  private async increment(stats: EventStats): Promise<void> {
    const app = encodeField(stats.appId);
    const keyed = stats.metrics.some((m) => m.key !== '');
    const projection = { [`a.${app}`]: 1, [`n.${app}`]: 1 };
    let pending: AnyBulkWriteOperation<StatsRollupDocument>[] = [];
    for (const [granularity, bucket] of [
      ['hour', stats.hour],
      ['day', stats.day],
    ] as const) {
      const _id = rollupId(granularity, stats.tenantId, bucket);
      const current = keyed ? await this.rollups.findOne({ _id }, { projection }) : null;
      const inc = liveIncrements(stats.appId, stats.metrics, {
        ...(current?.a?.[app] === undefined ? {} : { counts: current.a[app] }),
        ...(current?.n?.[app] === undefined ? {} : { held: current.n[app] }),
      });
      pending.push({
        updateOne: {
          filter: { _id },
          update: {
            $inc: inc,
            $setOnInsert: { tenantId: stats.tenantId, granularity, bucket, day: stats.day },
          },
          upsert: true,
        },
      });
    }
    for (let attempt = 1; ; attempt += 1) {
      try {
        await this.rollups.bulkWrite(pending, { ordered: false });
        return;
      } catch (error) {
        if (
          !(error instanceof MongoBulkWriteError) ||
          !onlyDuplicateKeys(error) ||
          attempt >= UPSERT_ATTEMPTS
        ) {
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
    for await (const { _id } of fromEvents) {
      scopes.set(scopeKey(_id), _id);
    }
    // Every application a roll-up has counted (its version stays after a settle removed its
    // counts), so counts without events left are found and removed too.
    const fromRollups = this.rollups.find(coveredFrom === undefined ? {} : { day: { $gte: coveredFrom } }, {
      projection: { tenantId: 1, day: 1, v: 1 },
    });
    for await (const { tenantId, day, v } of fromRollups) {
      for (const app of Object.keys(v ?? {})) {
        const scope = { tenantId, appId: decodeField(app), day };
        scopes.set(scopeKey(scope), scope);
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
   * Deletes up to `limit` roll-ups of one granularity that start before `before`, oldest first;
   * returns how many. Called again until it returns less than `limit`.
   */
  async purgeBuckets(
    granularity: StatsRollupDocument['granularity'],
    before: Date,
    limit: number,
  ): Promise<number> {
    const filter: Filter<StatsRollupDocument> = { granularity, bucket: { $lt: before } };
    const due = await this.rollups
      .find(filter, { projection: { _id: 1 } })
      .sort({ bucket: 1 })
      .limit(limit)
      .toArray();
    if (due.length === 0) {
      return 0;
    }
    const res = await this.rollups.deleteMany({ ...filter, _id: { $in: due.map((d) => d._id) } });
    return res.deletedCount;
  }

  /** metric → key → count for the period. */
  async summary(q: StatsQuery): Promise<StatsSummary> {
    const out: StatsSummary = {};
    const only = q.appId === undefined ? undefined : encodeField(q.appId);
    for (const doc of await this.read(q, only)) {
      for (const [app, counts] of Object.entries(doc.a ?? {})) {
        if (only === undefined || app === only) {
          addCounts(out, counts);
        }
      }
    }
    return out;
  }

  /** appId → metric → key → count for the period (`''`: events of the tenant without application). */
  async byApplication(q: Omit<StatsQuery, 'appId'>): Promise<Record<string, StatsSummary>> {
    const out: Record<string, StatsSummary> = {};
    for (const doc of await this.read(q)) {
      for (const [app, counts] of Object.entries(doc.a ?? {})) {
        addCounts((out[decodeField(app)] ??= {}), counts);
      }
    }
    // An application whose counts a settle removed leaves an empty part behind.
    return Object.fromEntries(Object.entries(out).filter(([, summary]) => Object.keys(summary).length > 0));
  }

  /** The `limit` keys of one metric with the highest counts (ties by key). */
  async top(q: StatsQuery, metric: string, limit: number): Promise<{ key: string; count: number }[]> {
    return topKeys((await this.summary(q))[metric], limit);
  }

  /**
   * The roll-ups of the period, each read by `_id` (about 80 for a month in a time zone), a few at
   * a time; `app` (encoded) reads only that application's counts.
   */
  private async read(q: Omit<StatsQuery, 'appId'>, app?: string): Promise<Pick<StatsRollupDocument, 'a'>[]> {
    const targets = periodTargets(q.tenantId, q.from, q.to);
    const options = { projection: app === undefined ? { a: 1 } : { [`a.${app}`]: 1 } };
    // Not maxTimeMS: FerretDB 1.24 then failed the next, unrelated command on the same connection.
    const deadline = this.readLimitMs === undefined ? undefined : Date.now() + this.readLimitMs;
    const docs: Pick<StatsRollupDocument, 'a'>[] = [];
    for (let i = 0; i < targets.length; i += READ_PARALLEL) {
      const batch = await withDeadline(
        Promise.all(
          targets.slice(i, i + READ_PARALLEL).map(({ _id }) => this.rollups.findOne({ _id }, options)),
        ),
        deadline,
      );
      for (const doc of batch) {
        if (doc !== null) {
          docs.push(doc);
        }
      }
    }
    return docs;
  }

  /**
   * Makes one application's counts in the roll-ups of one tenant's day (the day and its 24 hours)
   * equal to its raw events. The roll-ups are read before the events, and each is rewritten only
   * if the application's version is still the one read, so an increment that lands in between
   * makes the write miss (a conflict, retried later) instead of being lost; an event still being
   * applied (unapplied and recent) makes the whole scope wait.
   */
  private async settleScopeInto(scope: Scope, inFlightAfter: Date, result: SettleResult): Promise<void> {
    const { tenantId, appId, day } = scope;
    const app = encodeField(appId);
    const targets = dayTargets(tenantId, day);
    const projection = { [`a.${app}`]: 1, [`v.${app}`]: 1 };
    const before = await Promise.all(targets.map(({ _id }) => this.rollups.findOne({ _id }, { projection })));
    const after = new RollupBuilder();
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
      after.add(stats.tenantId, stats.appId, stats.hour, stats.metrics);
    }
    const written = await Promise.all(
      targets.map((t, i) => this.rewrite(t, before[i] ?? null, app, after.countsOf(t._id, appId))),
    );
    if (!written.every(Boolean)) {
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

  /**
   * Sets one application's counts in one roll-up, if its version is still the one read (or the
   * document still absent); true when the counts are now `after`.
   */
  private async rewrite(
    target: RollupTarget,
    before: Pick<StatsRollupDocument, 'a' | 'v'> | null,
    app: string,
    after: RollupCounts | undefined,
  ): Promise<boolean> {
    if (sameCounts(before?.a?.[app], after)) {
      return true;
    }
    if (before === null) {
      try {
        await this.rollups.insertOne({
          ...target,
          a: { [app]: after ?? {} },
          n: { [app]: keyCounts(after ?? {}) },
          v: { [app]: 1 },
        });
        return true;
      } catch (error) {
        // Created meanwhile by a live increment: a conflict, not a failure.
        if (isDuplicateKeyError(error)) {
          return false;
        }
        throw error;
      }
    }
    const version = `v.${app}`;
    const seen = before.v?.[app];
    const filter = { _id: target._id, [version]: seen === undefined ? { $exists: false } : seen };
    const update: UpdateFilter<StatsRollupDocument> =
      after === undefined
        ? { $unset: { [`a.${app}`]: '', [`n.${app}`]: '' }, $inc: { [version]: 1 } }
        : { $set: { [`a.${app}`]: after, [`n.${app}`]: keyCounts(after) }, $inc: { [version]: 1 } };
    return (await this.rollups.updateOne(filter, update)).matchedCount === 1;
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

/** Adds one application's stored counts (encoded field names) to a summary. */
function addCounts(out: StatsSummary, counts: RollupCounts): void {
  for (const [metric, byKey] of Object.entries(counts)) {
    for (const [field, count] of Object.entries(byKey)) {
      if (count > 0) {
        const keys = (out[decodeField(metric)] ??= {});
        const key = decodeField(field);
        keys[key] = (keys[key] ?? 0) + count;
      }
    }
  }
}

/**
 * The `limit` keys with the highest counts, ties by key, never the overflow (`OTHER_KEY`): what
 * `top` answers, also for a summary already read.
 */
export function topKeys(
  byKey: Readonly<Record<string, number>> | undefined,
  limit: number,
): { key: string; count: number }[] {
  return Object.entries(byKey ?? {})
    .filter(([key, count]) => count > 0 && key !== OTHER_KEY)
    .map(([key, count]) => ({ key, count }))
    .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
    .slice(0, Math.max(0, limit));
}

/** A report's read of its roll-ups ran past the repository's `readLimitMs`. */
export class StatsReadTimeoutError extends Error {
  constructor() {
    super('statistics read took longer than allowed');
    this.name = 'StatsReadTimeoutError';
  }
}

/** The read ran out of time: ours (`StatsReadTimeoutError`) or the server's `maxTimeMS` (code 50). */
export function isQueryTimeout(error: unknown): boolean {
  return error instanceof StatsReadTimeoutError || (error instanceof MongoServerError && error.code === 50);
}

/** `work`, or `StatsReadTimeoutError` once `deadline` (epoch ms) passes first; no deadline: `work`. */
async function withDeadline<T>(work: Promise<T>, deadline: number | undefined): Promise<T> {
  if (deadline === undefined) {
    return work;
  }
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StatsReadTimeoutError()), Math.max(0, deadline - Date.now()));
  });
  // A lookup still running when time is up ends on its own (one document); its result is dropped.
  work.catch(() => undefined);
  try {
    return await Promise.race([work, expired]);
  } finally {
    clearTimeout(timer);
  }
}

export const statsIndexes = [
  // Reports read roll-ups by `_id`. Retention purge, across tenants; rebuild, by day.
  { collection: COLLECTIONS.statsRollups, key: { granularity: 1, bucket: 1 } },
  { collection: COLLECTIONS.statsRollups, key: { day: 1 } },
  { collection: COLLECTIONS.events, key: { 'stats.applied': 1, 'stats.recordedAt': 1 } },
  { collection: COLLECTIONS.events, key: { 'stats.tenantId': 1, 'stats.appId': 1, 'stats.day': 1 } },
] as const;
