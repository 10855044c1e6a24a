import type { RelayConfig } from '@ser/config';
import { EventRepository, eventIndexes, StatsRepository, statsIndexes } from '@ser/data';
import type { EventDocument, StatsRollupDocument, StatsSummary } from '@ser/data';
import { createLogger } from '@ser/logger';
import { ensureIndexes } from '@ser/mongo';
import type { MongoConnection } from '@ser/mongo';
import { createRedis } from '@ser/queue';
import { connectTestDatabase, relayTestConfig } from '@ser/testing';
import type { Redis } from 'ioredis';
import { metricsOf } from '../src/projection/metrics';
import { rebuildableFrom } from '../src/retention/retention-policy';
import { StatsPurger } from '../src/retention/stats-purger';
import { driftRollup, expectedCounts, generateEvents } from './stats-events';

/**
 * Retention of the statistics and raw events on the real Redis and FerretDB. The generated events
 * run from 2025-02-28 to 2025-04-01; "now" is 2025-04-05 with raw events kept 10 days, hour
 * buckets 20 and day buckets 30, so every cutoff falls inside the data.
 */
const NOW = new Date('2025-04-05T12:00:00Z');
const EVENTS_FROM = new Date('2025-03-26T00:00:00Z');
const HOURS_FROM = new Date('2025-03-16T00:00:00Z');
const DAYS_FROM = new Date('2025-03-06T00:00:00Z');
const REBUILT_FROM = new Date('2025-03-27T00:00:00Z');
const END = new Date('2025-04-03T00:00:00Z');
const TENANTS = ['ten_a', 'ten_b', 'ten_c', ''];
const generated = generateEvents(400, 23);

let config: RelayConfig;
let mongo: MongoConnection;
let redis: Redis;
let stats: StatsRepository;
let events: EventRepository;
let replicas: StatsPurger[];
let before: { hours: StatsRollupDocument[]; days: StatsRollupDocument[]; events: EventDocument[] };

const byId = <T extends { _id: string }>(docs: T[]): T[] =>
  [...docs].sort((a, b) => (a._id < b._id ? -1 : 1));
const buckets = async (granularity: 'hour' | 'day') =>
  byId(await stats.rollups.find({ granularity }).toArray());

function expected(q: { tenantId: string; from: Date; to: Date }): StatsSummary {
  return expectedCounts(generated, q);
}

beforeAll(async () => {
  ({ config } = await relayTestConfig({
    SER_SERVICES: 'reporting',
    SER_REPORTING_EVENT_RETENTION_DAYS: '10',
    SER_REPORTING_HOURLY_STATS_RETENTION_DAYS: '20',
    SER_REPORTING_STATS_RETENTION_DAYS: '30',
  }));
  mongo = await connectTestDatabase('reporting-retention-int-spec', config.mongoDb);
  await ensureIndexes(mongo.db, [...statsIndexes, ...eventIndexes]);
  redis = createRedis(config.REDIS_URL, 'producer');
  stats = new StatsRepository(mongo.db);
  events = new EventRepository(mongo.db);
  const logger = createLogger({ level: 'silent', pretty: false });
  replicas = [0, 1].map(() => new StatsPurger(config, logger, stats, events));
  // One at a time, as the live projection does (no concurrent increments to lose on FerretDB).
  for (const { event } of generated) {
    await stats.record(event, metricsOf(event));
  }
  before = {
    hours: await buckets('hour'),
    days: await buckets('day'),
    events: byId(await stats.events.find({}).toArray()),
  };
}, 120_000);

afterAll(async () => {
  await Promise.all(replicas?.map((r) => r.onApplicationShutdown()) ?? []);
  redis?.disconnect();
  await mongo?.db.dropDatabase();
  await mongo?.close();
});

describe('statistics and raw-event retention', () => {
  it('purges exactly what is out of retention at each granularity, one replica per turn', async () => {
    // Every cutoff really splits the data.
    expect(before.hours.some((b) => b.bucket < HOURS_FROM)).toBe(true);
    expect(before.days.some((b) => b.bucket < DAYS_FROM)).toBe(true);
    expect(before.events.some((e) => e.at < EVENTS_FROM)).toBe(true);
    // A bounded batch deletes no more than asked.
    expect(await stats.purgeBuckets('hour', HOURS_FROM, 7)).toBe(7);

    const [a, b] = replicas as [StatsPurger, StatsPurger];
    const turns = await Promise.all([a.runIfOurTurn(NOW), b.runIfOurTurn(NOW)]);
    const done = turns.filter((t) => t !== undefined);
    expect(done).toEqual([
      {
        hourBuckets: before.hours.filter((h) => h.bucket < HOURS_FROM).length - 7,
        dayBuckets: before.days.filter((d) => d.bucket < DAYS_FROM).length,
        events: before.events.filter((e) => e.at < EVENTS_FROM).length,
        more: false,
      },
    ]);
    expect(await buckets('hour')).toEqual(before.hours.filter((h) => h.bucket >= HOURS_FROM));
    expect(await buckets('day')).toEqual(before.days.filter((d) => d.bucket >= DAYS_FROM));
    expect(byId(await stats.events.find({}).toArray())).toEqual(
      before.events.filter((e) => e.at >= EVENTS_FROM),
    );

    // The turn lasts the interval; the next turn finds nothing left to delete.
    expect(await a.runIfOurTurn(NOW)).toBeUndefined();
    await redis.del(`${config.SER_QUEUE_PREFIX}:reporting:purge-lock`);
    expect(await b.runIfOurTurn(NOW)).toEqual({ hourBuckets: 0, dayBuckets: 0, events: 0, more: false });
  });

  it('deletes batch after batch until the time is up, then leaves the rest for the next turn', async () => {
    const old = new Date(EVENTS_FROM.getTime() - 86_400_000);
    await stats.events.insertMany(
      Array.from({ length: 10 }, (_, i) => ({
        _id: `purge-budget-${String(i)}`,
        v: 1 as const,
        type: 'message.accepted' as const,
        at: old,
        tenantId: 'ten_purge_budget',
        data: {},
      })),
    );
    const [a, b] = replicas as [StatsPurger, StatsPurger];
    // No time: one batch, and the pass says there is more.
    a.limits = { batch: 3, runBudgetMs: 0 };
    await redis.del(`${config.SER_QUEUE_PREFIX}:reporting:purge-lock`);
    expect(await a.runIfOurTurn(NOW)).toMatchObject({ events: 3, more: true });
    // Time enough: batches of 3 until the last comes back short.
    b.limits = { batch: 3, runBudgetMs: 60_000 };
    await redis.del(`${config.SER_QUEUE_PREFIX}:reporting:purge-lock`);
    expect(await b.runIfOurTurn(NOW)).toMatchObject({ events: 7, more: false });
    expect(await stats.events.countDocuments({ tenantId: 'ten_purge_budget' })).toBe(0);
  });

  it('leaves report totals of the retained period unchanged', async () => {
    const partial = { from: new Date('2025-03-16T05:00:00Z'), to: new Date('2025-03-30T07:00:00Z') };
    for (const tenantId of TENANTS) {
      for (const period of [{ from: DAYS_FROM, to: END }, partial]) {
        expect(await stats.summary({ tenantId, ...period })).toEqual(expected({ tenantId, ...period }));
      }
    }
  });

  it('never lets settle or rebuild rewrite a day whose raw events may be gone', async () => {
    const coveredFrom = rebuildableFrom(NOW, config.SER_REPORTING_EVENT_RETENTION_DAYS);
    expect(coveredFrom).toEqual(REBUILT_FROM);
    const recent = { from: REBUILT_FROM, to: END };
    const live = new Map<string, StatsSummary>();
    for (const tenantId of TENANTS) {
      live.set(tenantId, await stats.summary({ tenantId, ...recent }));
    }
    // Drift in the rebuilt period: a count off, a roll-up lost.
    await driftRollup(stats.rollups, { granularity: 'day', day: { $gte: REBUILT_FROM } }, 5);
    await stats.rollups.deleteOne({ granularity: 'hour', day: { $gte: REBUILT_FROM } });
    // A crashed event of an old day whose other events are purged: settle must not recompute it.
    const [old] = await stats.events
      .find({ at: { $lt: REBUILT_FROM } })
      .limit(1)
      .toArray();
    await stats.events.updateOne(
      { _id: old?._id },
      { $set: { 'stats.applied': false, 'stats.recordedAt': new Date(NOW.getTime() - 3_600_000) } },
    );
    const kept = byId(await stats.rollups.find({ day: { $lt: REBUILT_FROM } }).toArray());
    expect(
      kept.some((b) => b.granularity === 'day' && b.day < EVENTS_FROM && Object.keys(b.a).length > 0),
    ).toBe(true);

    expect(await stats.settle(NOW, 5 * 60_000, 48 * 3_600_000, coveredFrom)).toMatchObject({ conflicts: 0 });
    const result = await stats.rebuild(metricsOf, NOW, undefined, coveredFrom);
    expect(result.conflicts).toBe(0);

    expect(byId(await stats.rollups.find({ day: { $lt: REBUILT_FROM } }).toArray())).toEqual(kept);
    for (const tenantId of TENANTS) {
      expect(await stats.summary({ tenantId, ...recent })).toEqual(live.get(tenantId));
      expect(await stats.summary({ tenantId, ...recent })).toEqual(expected({ tenantId, ...recent }));
      expect(await stats.summary({ tenantId, from: DAYS_FROM, to: END })).toEqual(
        expected({ tenantId, from: DAYS_FROM, to: END }),
      );
    }
  }, 120_000);
});
