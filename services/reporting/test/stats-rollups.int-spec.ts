import type { RelayEvent } from '@ser/contracts';
import { OTHER_KEY, ROLLUP_KEY_CAP, rollupId, StatsRepository, statsIndexes, topKeys } from '@ser/data';
import { ensureIndexes } from '@ser/mongo';
import type { MongoConnection } from '@ser/mongo';
import { connectTestDatabase, relayTestConfig } from '@ser/testing';
import { metricsOf } from '../src/projection/metrics';

/**
 * The roll-ups on the real FerretDB: keys that are not field names, the cap on keys per metric,
 * and a settle that keeps the highest keys once a roll-up is over it.
 */
let mongo: MongoConnection;
let stats: StatsRepository;
const HOUR = new Date('2025-06-10T09:00:00Z');
const DAY = new Date('2025-06-10T00:00:00Z');
const PERIOD = { from: DAY, to: new Date('2025-06-11T00:00:00Z') };
let seq = 0;

function event(type: RelayEvent['type'], tenantId: string, fields: Partial<RelayEvent>): RelayEvent {
  seq += 1;
  return {
    id: `ev.${String(seq)}`,
    v: 1,
    type,
    at: new Date(HOUR.getTime() + (seq % 3600) * 1000).toISOString(),
    tenantId,
    appId: 'app_1',
    data: {},
    ...fields,
  };
}

async function record(e: RelayEvent): Promise<void> {
  expect(await stats.record(e, metricsOf(e))).toBe(true);
}

beforeAll(async () => {
  const { config } = await relayTestConfig({ SER_SERVICES: 'reporting' });
  mongo = await connectTestDatabase('reporting-rollups-int-spec', config.mongoDb);
  await ensureIndexes(mongo.db, statsIndexes);
  stats = new StatsRepository(mongo.db);
});

afterAll(async () => {
  await mongo?.db.dropDatabase();
  await mongo?.close();
});

describe('statistics roll-ups', () => {
  it('counts keys that are not valid field names exactly, and reads them back unchanged', async () => {
    const senders = ['$where@x.test', 'a.b.c@x.test', '100%@x.test', '~@x.test', 'ü.ñ@x.test'];
    for (const headerFrom of senders) {
      await record(
        event('message.accepted', 'ten_keys', { data: { headerFrom, mailFrom: 'bounce@x.test' } }),
      );
    }
    await record(event('message.accepted', 'ten_keys', { data: { headerFrom: senders[1] } }));
    await record(
      event('message.held', 'ten_keys', { appId: undefined, data: { reason: 'dkim_key_missing' } }),
    );

    const summary = await stats.summary({ tenantId: 'ten_keys', ...PERIOD });
    expect(summary).toEqual({
      relay_requests: { '': 6 },
      accepted: { '': 6 },
      sender_from: {
        '$where@x.test': 1,
        'a.b.c@x.test': 2,
        '100%@x.test': 1,
        '~@x.test': 1,
        'ü.ñ@x.test': 1,
      },
      sender_envelope: { 'bounce@x.test': 5 },
      held: { dkim_key_missing: 1 },
    });
    expect(await stats.byApplication({ tenantId: 'ten_keys', ...PERIOD })).toEqual({
      app_1: {
        relay_requests: { '': 6 },
        accepted: { '': 6 },
        sender_from: summary['sender_from'],
        sender_envelope: { 'bounce@x.test': 5 },
      },
      '': { held: { dkim_key_missing: 1 } },
    });
    // The hour alone reads the hour roll-up, the same counts.
    const hour = { from: HOUR, to: new Date(HOUR.getTime() + 3_600_000) };
    expect(await stats.summary({ tenantId: 'ten_keys', appId: 'app_1', ...hour })).toEqual(
      await stats.summary({ tenantId: 'ten_keys', appId: 'app_1', ...PERIOD }),
    );
    // A settle finds nothing to change.
    expect(await stats.rebuild(metricsOf)).toMatchObject({ conflicts: 0 });
    expect(await stats.summary({ tenantId: 'ten_keys', ...PERIOD })).toEqual(summary);
  });

  it('keeps at most ROLLUP_KEY_CAP keys per metric and application, the rest as the overflow', async () => {
    const extra = 5;
    const domains = Array.from({ length: ROLLUP_KEY_CAP + extra }, (_, i) => `d${String(i)}.test`);
    for (const domain of domains) {
      await record(event('delivery.bounced', 'ten_cap', { recipient: `x@${domain}` }));
    }
    // The last domain is the most bounced one, but it came after the cap was reached.
    const last = domains[domains.length - 1] ?? '';
    for (let i = 0; i < 3; i += 1) {
      await record(event('delivery.bounced', 'ten_cap', { recipient: `y@${last}` }));
    }
    const total = domains.length + 3;
    const live = await stats.summary({ tenantId: 'ten_cap', ...PERIOD });
    expect(live['bounced']).toEqual({ '': total });
    const keys = live['failing_domain'] ?? {};
    expect(Object.keys(keys)).toHaveLength(ROLLUP_KEY_CAP + 1);
    expect(keys[OTHER_KEY]).toBe(extra + 3);
    expect(Object.values(keys).reduce((a, b) => a + b, 0)).toBe(total);
    expect(topKeys(keys, 500).map((k) => k.key)).not.toContain(OTHER_KEY);
    const doc = await stats.rollups.findOne({ _id: rollupId('day', 'ten_cap', DAY) });
    expect(doc?.n).toEqual({ app_1: { failing_domain: ROLLUP_KEY_CAP } });

    // Recomputed from the raw events, the roll-up keeps the highest counts: the last domain now.
    await stats.rollups.updateOne(
      { _id: rollupId('day', 'ten_cap', DAY) },
      { $inc: { 'a.app_1.bounced.~': 1 } },
    );
    expect(await stats.rebuild(metricsOf)).toMatchObject({ conflicts: 0 });
    const settled = await stats.summary({ tenantId: 'ten_cap', ...PERIOD });
    expect(settled['bounced']).toEqual({ '': total });
    expect(settled['failing_domain']?.[last]).toBe(4);
    expect(settled['failing_domain']?.[OTHER_KEY]).toBe(extra);
    expect(Object.keys(settled['failing_domain'] ?? {})).toHaveLength(ROLLUP_KEY_CAP + 1);
    expect((await stats.top({ tenantId: 'ten_cap', ...PERIOD }, 'failing_domain', 1))[0]).toEqual({
      key: last,
      count: 4,
    });
  }, 120_000);
});
