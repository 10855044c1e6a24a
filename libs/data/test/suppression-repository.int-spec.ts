import { ensureIndexes } from '@ser/mongo';
import type { MongoConnection } from '@ser/mongo';
import { connectTestDatabase } from '@ser/testing';
import { suppressionId, suppressionIndexes, SuppressionRepository } from '../src';

/** SuppressionRepository against the real FerretDB from MONGO_URL, in a database of this file's own. */
let mongo: MongoConnection;
let suppressions: SuppressionRepository;

beforeAll(async () => {
  mongo = await connectTestDatabase('data-suppressions-int-spec');
  await ensureIndexes(mongo.db, suppressionIndexes);
  suppressions = new SuppressionRepository(mongo.db);
});

afterAll(async () => {
  await mongo?.db.dropDatabase();
  await mongo?.close();
});

const DAY = 86_400_000;
const inDays = (days: number) => new Date(Date.now() + days * DAY);
let tenantCounter = 0;
/** Each test its own tenant, so they share the database without seeing each other's entries. */
const newTenant = () => `ten_sup${String(++tenantCounter)}`;

describe('SuppressionRepository', () => {
  it('stores an entry under <tenantId>/<lowercase address> and finds it case-insensitively', async () => {
    const tenantId = newTenant();
    const createdAt = new Date('2030-01-01T00:00:00Z');
    const stored = await suppressions.add({
      tenantId,
      address: 'Bob@Dest.TEST',
      reason: 'hard_bounce',
      reply: '550 5.1.1 no such user',
      messageId: 'msg1',
      createdAt,
      expiresAt: inDays(30),
    });

    expect(stored).toMatchObject({
      _id: `${tenantId}/bob@dest.test`,
      tenantId,
      address: 'bob@dest.test',
      reason: 'hard_bounce',
      reply: '550 5.1.1 no such user',
      messageId: 'msg1',
      createdAt,
    });
    expect(await suppressions.find(tenantId, 'BOB@dest.test')).toEqual(stored);
    expect(await suppressions.find(newTenant(), 'bob@dest.test')).toBeNull();
  });

  it('refreshes the reply and expiry of a repeated hard bounce, keeping when it was first suppressed', async () => {
    const tenantId = newTenant();
    const first = await suppressions.add({
      tenantId,
      address: 'a@dest.test',
      reason: 'hard_bounce',
      reply: '550 first',
      messageId: 'm1',
      expiresAt: inDays(1),
    });
    const later = inDays(30);
    const second = await suppressions.add({
      tenantId,
      address: 'A@dest.test',
      reason: 'hard_bounce',
      reply: '550 second',
      messageId: 'm2',
      expiresAt: later,
    });

    expect(second).toMatchObject({ reply: '550 second', messageId: 'm2', expiresAt: later });
    expect(second.createdAt).toEqual(first.createdAt);
    expect(await suppressions.suppressions.countDocuments({ tenantId })).toBe(1);
  });

  it('lets a manual entry replace a hard bounce, but no hard bounce override a manual entry in force', async () => {
    const tenantId = newTenant();
    await suppressions.add({
      tenantId,
      address: 'a@dest.test',
      reason: 'hard_bounce',
      reply: '550 gone',
      messageId: 'm1',
      expiresAt: inDays(3),
    });
    const manual = await suppressions.add({ tenantId, address: 'a@dest.test', reason: 'manual' });
    expect(manual.reason).toBe('manual');
    // The operator's entry is for good: the bounce's reply, message and expiry are gone.
    expect(manual).not.toHaveProperty('expiresAt');
    expect(manual).not.toHaveProperty('reply');
    expect(manual).not.toHaveProperty('messageId');

    const bounced = await suppressions.add({
      tenantId,
      address: 'a@dest.test',
      reason: 'hard_bounce',
      reply: '550 again',
      expiresAt: inDays(30),
    });
    expect(bounced).toEqual(manual);
  });

  it('lets a hard bounce replace a manual entry that has expired', async () => {
    const tenantId = newTenant();
    await suppressions.add({ tenantId, address: 'a@dest.test', reason: 'manual', expiresAt: inDays(-1) });
    const expiresAt = inDays(30);
    const bounced = await suppressions.add({
      tenantId,
      address: 'a@dest.test',
      reason: 'hard_bounce',
      reply: '550 gone',
      expiresAt,
    });
    expect(bounced).toMatchObject({ reason: 'hard_bounce', reply: '550 gone', expiresAt });
  });

  it('finds only the entries in force, and only the tenant’s own, among a recipient list in one call', async () => {
    const tenantId = newTenant();
    const other = newTenant();
    await suppressions.add({ tenantId, address: 'forever@dest.test', reason: 'manual' });
    await suppressions.add({
      tenantId,
      address: 'soon@dest.test',
      reason: 'hard_bounce',
      expiresAt: inDays(1),
    });
    await suppressions.add({
      tenantId,
      address: 'past@dest.test',
      reason: 'hard_bounce',
      expiresAt: inDays(-1),
    });
    await suppressions.add({ tenantId: other, address: 'theirs@dest.test', reason: 'manual' });

    const active = await suppressions.activeAmong(tenantId, [
      'Forever@Dest.test',
      'soon@dest.test',
      'past@dest.test',
      'theirs@dest.test',
      'clean@dest.test',
      'forever@dest.test',
    ]);

    expect([...active.keys()].sort()).toEqual(['forever@dest.test', 'soon@dest.test']);
    expect(active.get('soon@dest.test')?.reason).toBe('hard_bounce');
    expect(await suppressions.activeAmong(tenantId, [])).toEqual(new Map());
    expect(await suppressions.find(tenantId, 'past@dest.test')).toBeNull();
  });

  it('removes an entry once, and only through its own tenant', async () => {
    const tenantId = newTenant();
    await suppressions.add({ tenantId, address: 'a@dest.test', reason: 'manual' });

    expect(await suppressions.remove(newTenant(), 'a@dest.test')).toBe(false);
    expect(await suppressions.remove(tenantId, 'A@DEST.TEST')).toBe(true);
    expect(await suppressions.remove(tenantId, 'a@dest.test')).toBe(false);
    expect(await suppressions.find(tenantId, 'a@dest.test')).toBeNull();
  });

  it('pages through a tenant’s entries in force by address', async () => {
    const tenantId = newTenant();
    for (const name of ['e', 'c', 'a', 'd', 'b']) {
      await suppressions.add({ tenantId, address: `${name}@dest.test`, reason: 'manual' });
    }
    await suppressions.add({ tenantId, address: 'bb@dest.test', reason: 'manual', expiresAt: inDays(-1) });
    await suppressions.add({ tenantId: newTenant(), address: 'aa@dest.test', reason: 'manual' });

    const addresses = async (after?: string) =>
      (await suppressions.list(tenantId, { limit: 2, after })).map((entry) => entry.address);
    expect(await addresses()).toEqual(['a@dest.test', 'b@dest.test']);
    expect(await addresses('b@dest.test')).toEqual(['c@dest.test', 'd@dest.test']);
    expect(await addresses('d@dest.test')).toEqual(['e@dest.test']);
    expect(await addresses('e@dest.test')).toEqual([]);
  });

  it('purges the expired entries only', async () => {
    const tenantId = newTenant();
    await suppressions.add({
      tenantId,
      address: 'old@dest.test',
      reason: 'hard_bounce',
      expiresAt: inDays(-1),
    });
    await suppressions.add({
      tenantId,
      address: 'new@dest.test',
      reason: 'hard_bounce',
      expiresAt: inDays(1),
    });

    expect(await suppressions.purgeExpired()).toBeGreaterThanOrEqual(1);
    expect(
      await suppressions.suppressions.findOne({ _id: suppressionId(tenantId, 'old@dest.test') }),
    ).toBeNull();
    expect(await suppressions.find(tenantId, 'new@dest.test')).not.toBeNull();
  });
});
