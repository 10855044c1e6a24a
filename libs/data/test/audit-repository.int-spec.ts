import { ensureIndexes } from '@ser/mongo';
import type { MongoConnection } from '@ser/mongo';
import { connectTestDatabase } from '@ser/testing';
import { auditIndexes, AuditRepository } from '../src';

/** AuditRepository against the real FerretDB from MONGO_URL, in a database of this file's own. */
let mongo: MongoConnection;
let audit: AuditRepository;

beforeAll(async () => {
  mongo = await connectTestDatabase('data-audit-int-spec');
  await ensureIndexes(mongo.db, auditIndexes);
  audit = new AuditRepository(mongo.db);
});

afterAll(async () => {
  await mongo?.db.dropDatabase();
  await mongo?.close();
});

describe('AuditRepository', () => {
  it('records entries with a random id and lists them newest first, by tenant and time range', async () => {
    const at = (minute: number) => new Date(Date.UTC(2030, 0, 1, 0, minute));
    const entry = (tenantId: string | undefined, minute: number) =>
      audit.record({
        actor: 'operator:bootstrap',
        action: 'message.release',
        ...(tenantId === undefined ? {} : { tenantId }),
        target: { type: 'message', id: `m${minute}` },
        details: { previousState: 'quarantined' },
        at: at(minute),
      });
    const first = await entry('ten_a', 1);
    await entry('ten_b', 2);
    await entry('ten_a', 3);
    await entry(undefined, 4);
    expect(first._id).toMatch(/^aud_[0-9a-f]{24}$/);
    expect(await audit.audit.findOne({ _id: first._id })).toEqual(first);

    const targets = async (filter: Parameters<AuditRepository['list']>[0], limit = 100) =>
      (await audit.list(filter, limit)).map((e) => e.target.id);
    expect(await targets({})).toEqual(['m4', 'm3', 'm2', 'm1']);
    expect(await targets({}, 2)).toEqual(['m4', 'm3']);
    expect(await targets({ tenantId: 'ten_a' })).toEqual(['m3', 'm1']);
    expect(await targets({ from: at(2), to: at(3) })).toEqual(['m3', 'm2']);
    expect(await targets({ tenantId: 'ten_a', from: at(2) })).toEqual(['m3']);
    expect(await targets({ to: at(1) })).toEqual(['m1']);
  });
});
