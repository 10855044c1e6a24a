import type { RelayConfig } from '@ser/config';
import type { RelayEvent } from '@ser/contracts';
import { dayOf, hourOf, rollupId, StatsRepository } from '@ser/data';
import type { EventDocument, StatsSummary } from '@ser/data';
import { createLogger } from '@ser/logger';
import type { MongoConnection } from '@ser/mongo';
import { EventPublisher, QueueBus } from '@ser/queue';
import { startServices } from '@ser/runtime';
import type { RunningServices } from '@ser/runtime';
import { connectTestDatabase, relayTestConfig, waitFor } from '@ser/testing';
import { reportingService } from '../src/index';
import { metricsOf } from '../src/projection/metrics';
import { driftRollup, expectedCounts, generateEvents, shuffled } from './stats-events';
import type { GeneratedEvent } from './stats-events';

/** The reporting service on the real Redis and FerretDB projects a generated mix of events. */
let config: RelayConfig;
let running: RunningServices;
let mongo: MongoConnection;
let bus: QueueBus;
let publisher: EventPublisher;
let stats: StatsRepository;
const generated: GeneratedEvent[] = generateEvents(300, 7);
const TENANTS = ['ten_a', 'ten_b', 'ten_c', ''];
const MONTH = { from: new Date('2025-03-01T00:00:00Z'), to: new Date('2025-04-01T00:00:00Z') };
const ALL = { from: new Date('2025-02-27T00:00:00Z'), to: new Date('2025-04-03T00:00:00Z') };

async function publishAll(events: readonly GeneratedEvent[]): Promise<void> {
  for (const { event } of events) {
    await publisher.publish(event);
  }
}

function projected(count: number): Promise<boolean> {
  return waitFor(async () => (await stats.events.countDocuments({})) >= count && (await idle()) && true, {
    timeoutMs: 60_000,
    intervalMs: 200,
    description: `${String(count)} events stored`,
  });
}

async function idle(): Promise<boolean> {
  const counts = await bus.queue('events').getJobCounts('waiting', 'active', 'delayed');
  return Object.values(counts).every((n) => n === 0);
}

async function settleRecent(): Promise<void> {
  // As a later pass would: events whose increments failed (a bucket raced) are stale by then.
  const result = await stats.settle(new Date(Date.now() + 10 * 60_000), 5 * 60_000, 3_600_000);
  expect(result.conflicts).toBe(0);
}

function expected(q: { tenantId: string; appId?: string; from: Date; to: Date }): StatsSummary {
  return expectedCounts(generated, q);
}

beforeAll(async () => {
  ({ config } = await relayTestConfig({ SER_SERVICES: 'reporting' }));
  running = await startServices(
    [reportingService],
    config,
    createLogger({ level: config.SER_LOG_LEVEL, pretty: false }),
  );
  mongo = await connectTestDatabase('reporting-int-spec', config.mongoDb);
  bus = new QueueBus(config.REDIS_URL, config.SER_QUEUE_PREFIX);
  publisher = new EventPublisher(bus);
  stats = new StatsRepository(mongo.db);
  await publishAll(shuffled(generated, 1));
  await projected(generated.length);
  // Concurrent increments of one bucket can be lost on FerretDB: the settle pass recomputes them.
  await settleRecent();
}, 180_000);

afterAll(async () => {
  await running?.stop();
  await bus?.close();
  await mongo?.db.dropDatabase();
  await mongo?.close();
});

describe('statistics projected from the events queue', () => {
  it('equal counts done independently from the generated events, per tenant, application and period', async () => {
    const partial = { from: new Date('2025-03-03T07:00:00Z'), to: new Date('2025-03-20T15:00:00Z') };
    for (const tenantId of TENANTS) {
      for (const period of [ALL, MONTH, partial]) {
        expect(await stats.summary({ tenantId, ...period })).toEqual(expected({ tenantId, ...period }));
      }
      const apps = new Set(generated.filter((g) => g.tenantId === tenantId).map((g) => g.appId));
      const byApp: Record<string, StatsSummary> = {};
      for (const appId of apps) {
        byApp[appId] = expected({ tenantId, appId, ...partial });
        expect(await stats.summary({ tenantId, appId, ...partial })).toEqual(byApp[appId]);
      }
      expect(await stats.byApplication({ tenantId, ...partial })).toEqual(
        Object.fromEntries(Object.entries(byApp).filter(([, s]) => Object.keys(s).length > 0)),
      );
    }
    // The generator spreads events over every hour, so the partial period really mixes both kinds.
    expect(generated.some((g) => g.at >= partial.from && g.at < new Date('2025-03-04T00:00:00Z'))).toBe(true);
  });

  it('ranks the top keys of a metric', async () => {
    for (const metric of ['sender_from', 'failing_domain', 'rejected', 'refused_ip']) {
      for (const tenantId of TENANTS) {
        const all = Object.entries(expected({ tenantId, ...MONTH })[metric] ?? {})
          .map(([key, count]) => ({ key, count }))
          .sort((a, b) => b.count - a.count || (a.key < b.key ? -1 : 1));
        expect(await stats.top({ tenantId, ...MONTH }, metric, 3)).toEqual(all.slice(0, 3));
      }
    }
  });

  it("never counts another tenant's events", async () => {
    const otherApp = generated.find((g) => g.tenantId === 'ten_b')?.appId ?? 'app_b0';
    expect(await stats.summary({ tenantId: 'ten_a', appId: otherApp, ...ALL })).toEqual({});
    expect(await stats.summary({ tenantId: 'ten_nobody', ...ALL })).toEqual({});
    const a = await stats.summary({ tenantId: 'ten_a', ...ALL });
    const b = await stats.summary({ tenantId: 'ten_b', ...ALL });
    expect(a['accepted']?.['']).toBe(expected({ tenantId: 'ten_a', ...ALL })['accepted']?.['']);
    expect(a).not.toEqual(b);
    expect(
      Object.keys(await stats.byApplication({ tenantId: 'ten_a', ...ALL })).every((id) =>
        id.startsWith('app_a'),
      ),
    ).toBe(true);
  });

  it('counts every event once when all are published again in another order, or recorded twice', async () => {
    const before = generated.length;
    await publishAll(shuffled(generated, 2).slice(0, 150));
    for (const { event } of shuffled(generated, 3).slice(0, 100)) {
      expect(await stats.record(event, metricsOf(event))).toBe(false);
    }
    await projected(before);
    await settleRecent();
    expect(await stats.events.countDocuments({})).toBe(before);
    for (const tenantId of TENANTS) {
      expect(await stats.summary({ tenantId, ...ALL })).toEqual(expected({ tenantId, ...ALL }));
    }
  }, 300_000);

  it('refuses a period that does not start and end on whole hours', async () => {
    await expect(
      stats.summary({ tenantId: 'ten_a', from: new Date('2025-03-01T00:30:00Z'), to: MONTH.to }),
    ).rejects.toThrow(RangeError);
  });
});

function defined(): never {
  throw new Error('crashed() always derives stats');
}

describe('settle and rebuild', () => {
  const TENANT = 'ten_drift';
  const at = new Date('2025-03-10T10:20:00Z');
  const period = {
    tenantId: TENANT,
    from: new Date('2025-03-10T00:00:00Z'),
    to: new Date('2025-03-11T00:00:00Z'),
  };

  function crashed(id: string, type: RelayEvent['type'], data: Record<string, unknown>): EventDocument {
    const event = { id, v: 1 as const, type, at: at.toISOString(), tenantId: TENANT, appId: 'app_d', data };
    return {
      _id: id,
      v: 1,
      type,
      at,
      tenantId: TENANT,
      appId: 'app_d',
      data,
      stats: {
        tenantId: TENANT,
        appId: 'app_d',
        hour: hourOf(at),
        day: dayOf(at),
        metrics: metricsOf(event),
        applied: false,
        recordedAt: new Date(Date.now() - 3_600_000),
      },
    };
  }

  it('repairs a crash before the increments and a crash after them, without double counting', async () => {
    const live: RelayEvent = {
      id: 'drift.live',
      v: 1,
      type: 'message.accepted',
      at: at.toISOString(),
      tenantId: TENANT,
      appId: 'app_d',
      data: { headerFrom: 'a@d.test' },
    };
    await stats.record(live, metricsOf(live));
    // Stored, never incremented (killed right after the insert).
    await stats.events.insertOne(crashed('drift.before', 'message.held', { reason: 'av_unavailable' }));
    // Stored and incremented, but killed before it was marked applied.
    const after = crashed('drift.after', 'delivery.bounced', {});
    await stats.record(
      {
        id: 'drift.after',
        v: 1,
        type: 'delivery.bounced',
        at: at.toISOString(),
        tenantId: TENANT,
        appId: 'app_d',
        data: {},
      },
      [{ metric: 'bounced', key: '' }],
      after.stats?.recordedAt,
    );
    await stats.events.updateOne({ _id: 'drift.after' }, { $set: { 'stats.applied': false } });
    expect((await stats.summary(period))['held']).toBeUndefined();

    await stats.settle();
    expect(await stats.summary(period)).toEqual({
      relay_requests: { '': 1 },
      accepted: { '': 1 },
      sender_from: { 'a@d.test': 1 },
      held: { av_unavailable: 1 },
      bounced: { '': 1 },
    });
    expect(await stats.events.countDocuments({ 'stats.applied': false })).toBe(0);
    expect((await stats.settle()).repaired).toBe(0);
  });

  it('leaves a day alone while one of its events is still being applied', async () => {
    await stats.events.insertOne(crashed('drift.stale', 'message.held', { reason: 'as_unavailable' }));
    const inFlight = crashed('drift.inflight', 'message.quarantined', {});
    const recent = { ...inFlight, stats: { ...(inFlight.stats ?? defined()), recordedAt: new Date() } };
    await stats.events.insertOne(recent);
    const before = await stats.summary(period);
    const result = await stats.settle();
    expect(result).toEqual({ scopes: 0, conflicts: 1, repaired: 0 });
    expect(await stats.summary(period)).toEqual(before);
    // Once the in-flight event is older than the grace period, it is taken as crashed too.
    const later = await stats.settle(new Date(Date.now() + 10 * 60_000));
    expect(later).toEqual({ scopes: 1, conflicts: 0, repaired: 2 });
    expect(await stats.summary(period)).toEqual({
      ...before,
      held: { ...before['held'], as_unavailable: 1 },
      quarantined: { '': 1 },
    });
  });

  it('rebuilds from the raw events to the live numbers, whatever happened to the buckets', async () => {
    const live = new Map<string, unknown>();
    for (const tenantId of [...TENANTS, TENANT]) {
      live.set(tenantId, [
        await stats.summary({ tenantId, ...ALL }),
        await stats.byApplication({ tenantId, ...MONTH }),
      ]);
    }
    // Drift of every kind: a count off, a roll-up lost, counts that should not exist, legacy events.
    await driftRollup(stats.rollups, { tenantId: 'ten_a', granularity: 'day' }, 5);
    await stats.rollups.deleteOne({ tenantId: 'ten_b', granularity: 'hour' });
    const bogusDay = new Date('2025-03-05T00:00:00Z');
    await stats.rollups.updateOne(
      { _id: rollupId('day', 'ten_c', bogusDay) },
      {
        $inc: { 'a.app_bogus.accepted.~': 9, 'v.app_bogus': 1 },
        $setOnInsert: { tenantId: 'ten_c', granularity: 'day', bucket: bogusDay, day: bogusDay },
      },
      { upsert: true },
    );
    await stats.events.updateMany({ tenantId: 'ten_c' }, { $unset: { stats: '' } });

    const result = await stats.rebuild(metricsOf);
    if (result.conflicts > 0) {
      // The service's own settle pass ran over the same days meanwhile; what it left is settled now.
      expect((await stats.rebuild(metricsOf)).conflicts).toBe(0);
    }
    expect(result.derived).toBeGreaterThan(0);
    for (const tenantId of [...TENANTS, TENANT]) {
      expect([
        await stats.summary({ tenantId, ...ALL }),
        await stats.byApplication({ tenantId, ...MONTH }),
      ]).toEqual(live.get(tenantId));
    }
    expect(await stats.summary({ tenantId: 'ten_c', ...ALL })).toEqual(
      expected({ tenantId: 'ten_c', ...ALL }),
    );

    // From nothing: every bucket dropped.
    await stats.rollups.deleteMany({});
    await stats.rebuild(metricsOf);
    for (const tenantId of TENANTS) {
      expect(await stats.summary({ tenantId, ...ALL })).toEqual(expected({ tenantId, ...ALL }));
    }
  }, 300_000);
});
