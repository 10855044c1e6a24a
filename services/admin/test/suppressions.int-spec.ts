import { COLLECTIONS, SuppressionRepository } from '@ser/data';
import type { AuditDocument } from '@ser/data';
import type { Db } from 'mongodb';
import type { AdminClient } from './admin-client';
import { expectProblem, startAdminFixture } from './admin-fixture';
import type { AdminFixture } from './admin-fixture';

interface SuppressionView {
  address: string;
  reason: string;
  reply?: string;
  messageId?: string;
  createdAt: string;
  expiresAt?: string;
}

interface SuppressionPage {
  items: SuppressionView[];
  nextCursor: string | null;
}

const DAY = 86_400_000;

describe('admin API: suppression list', () => {
  let fixture: AdminFixture | undefined;
  let db: Db;
  let api: AdminClient;
  let repository: SuppressionRepository;

  beforeAll(async () => {
    fixture = await startAdminFixture();
    ({ db, api } = fixture);
    repository = new SuppressionRepository(db);
  });

  afterAll(async () => {
    await fixture?.stop();
  });

  const newTenant = async () => (await api.created('/v1/tenants', { name: 'Acme' })).id;
  const base = (tenantId: string) => `/v1/tenants/${tenantId}/suppressions`;
  const one = (tenantId: string, address: string) => `${base(tenantId)}/${encodeURIComponent(address)}`;
  const remove = (tenantId: string, address: string) => api.request('DELETE', one(tenantId, address));
  const auditOf = (tenantId: string) =>
    db
      .collection<AuditDocument>(COLLECTIONS.audit)
      .find({ tenantId, action: /^suppression\./ })
      .sort({ at: 1, _id: 1 })
      .toArray();

  it('refuses requests without the operator token', async () => {
    const anonymous = api.withToken(undefined);
    expectProblem(await anonymous.get(base('ten_x')), 401, 'unauthorized');
    expectProblem(await anonymous.post(base('ten_x'), { address: 'a@dest.test' }), 401, 'unauthorized');
    expectProblem(await anonymous.request('DELETE', one('ten_x', 'a@dest.test')), 401, 'unauthorized');
  });

  it('adds a manual entry, shows it, deletes it once, and audits both decisions', async () => {
    const tenantId = await newTenant();
    const created = await api.post<SuppressionView>(base(tenantId), { address: '  Bob@Dest.TEST ' });

    expect(created.status).toBe(201);
    const stored = await repository.find(tenantId, 'bob@dest.test');
    expect(stored).toMatchObject({ reason: 'manual' });
    expect(created.body).toEqual({
      address: 'bob@dest.test',
      reason: 'manual',
      createdAt: stored?.createdAt.toISOString(),
    });
    expect((await api.get(one(tenantId, 'BOB@dest.test'))).body).toEqual(created.body);
    expect((await api.get(`${base(tenantId)}/bob@dest.test`)).body).toEqual(created.body);

    expect((await remove(tenantId, 'bob@DEST.test')).status).toBe(204);
    expectProblem(await api.get(one(tenantId, 'bob@dest.test')), 404, 'not-found');
    expect(expectProblem(await remove(tenantId, 'bob@dest.test'), 404, 'not-found').detail).toBe(
      'suppression not found',
    );
    expect(await repository.find(tenantId, 'bob@dest.test')).toBeNull();

    const audit = await auditOf(tenantId);
    expect(audit.map((a) => [a.action, a.actor, a.target, a.details])).toEqual([
      ['suppression.create', 'operator:bootstrap', { type: 'suppression', id: 'bob@dest.test' }, {}],
      [
        'suppression.delete',
        'operator:bootstrap',
        { type: 'suppression', id: 'bob@dest.test' },
        { reason: 'manual' },
      ],
    ]);
  });

  it('shows a hard bounce from egress, and lets an operator turn it into a manual entry with an expiry', async () => {
    const tenantId = await newTenant();
    const bounced = await repository.add({
      tenantId,
      address: 'gone@dest.test',
      reason: 'hard_bounce',
      reply: '550 5.1.1 user unknown',
      messageId: '01m8ha0tprsqprekm4bmameanx',
      expiresAt: new Date(Date.now() + 30 * DAY),
    });
    expect((await api.get(one(tenantId, 'gone@dest.test'))).body).toEqual({
      address: 'gone@dest.test',
      reason: 'hard_bounce',
      reply: '550 5.1.1 user unknown',
      messageId: '01m8ha0tprsqprekm4bmameanx',
      createdAt: bounced.createdAt.toISOString(),
      expiresAt: bounced.expiresAt?.toISOString(),
    });

    const expiresAt = new Date(Date.now() + 2 * DAY).toISOString();
    const manual = await api.post<SuppressionView>(base(tenantId), { address: 'gone@dest.test', expiresAt });
    expect(manual.status).toBe(201);
    expect(manual.body).toEqual({
      address: 'gone@dest.test',
      reason: 'manual',
      createdAt: bounced.createdAt.toISOString(),
      expiresAt,
    });
    const [entry] = await auditOf(tenantId);
    expect(entry?.details).toEqual({ expiresAt: new Date(expiresAt), previousReason: 'hard_bounce' });
  });

  it('pages through the entries in force by address, leaving expired ones out', async () => {
    const tenantId = await newTenant();
    for (const name of ['e', 'c', 'a', 'd', 'b']) {
      await api.created(base(tenantId), { address: `${name}@dest.test` });
    }
    await repository.add({
      tenantId,
      address: 'bb@dest.test',
      reason: 'hard_bounce',
      expiresAt: new Date(1000),
    });

    const page = async (query: string) => (await api.get<SuppressionPage>(`${base(tenantId)}${query}`)).body;
    const first = await page('?limit=2');
    expect(first.items.map((i) => i.address)).toEqual(['a@dest.test', 'b@dest.test']);
    expect(first.nextCursor).toBe('b@dest.test');
    const second = await page(`?limit=2&cursor=${encodeURIComponent('b@dest.test')}`);
    expect(second.items.map((i) => i.address)).toEqual(['c@dest.test', 'd@dest.test']);
    const last = await page('?limit=2&cursor=d%40dest.test');
    expect(last).toEqual({ items: [expect.objectContaining({ address: 'e@dest.test' })], nextCursor: null });
    expect((await page('')).items).toHaveLength(5);
    expectProblem(await api.get(one(tenantId, 'bb@dest.test')), 404, 'not-found');
  });

  it("never shows or deletes another tenant's entries through a tenant's path", async () => {
    const tenantA = await newTenant();
    const tenantB = await newTenant();
    await api.created(base(tenantB), { address: 'secret@dest.test' });

    expect((await api.get<SuppressionPage>(base(tenantA))).body).toEqual({ items: [], nextCursor: null });
    expectProblem(await api.get(one(tenantA, 'secret@dest.test')), 404, 'not-found');
    expectProblem(await remove(tenantA, 'secret@dest.test'), 404, 'not-found');
    expect((await api.get(one(tenantB, 'secret@dest.test'))).status).toBe(200);
    expect(await auditOf(tenantA)).toEqual([]);
  });

  it('answers 404 for an unknown tenant on every route', async () => {
    const detail = (response: Awaited<ReturnType<AdminClient['get']>>) =>
      expectProblem(response, 404, 'not-found').detail;
    expect(detail(await api.get(base('ten_unknown')))).toBe('tenant not found');
    expect(detail(await api.post(base('ten_unknown'), { address: 'a@dest.test' }))).toBe('tenant not found');
    expect(detail(await api.get(one('ten_unknown', 'a@dest.test')))).toBe('tenant not found');
    expect(detail(await remove('ten_unknown', 'a@dest.test'))).toBe('tenant not found');
    expect(await db.collection(COLLECTIONS.suppressions).countDocuments({ tenantId: 'ten_unknown' })).toBe(0);
  });

  it('refuses what is not a mailbox, operator shapes, unknown fields and past expiry, naming the field', async () => {
    const tenantId = await newTenant();
    const errors = async (body: unknown) =>
      expectProblem(await api.post(base(tenantId), body), 400, 'invalid-request').errors?.map((e) => e.path);

    expect(await errors({ address: 'not an address' })).toEqual(['address']);
    expect(await errors({ address: 'someone@[127.0.0.1]' })).toEqual(['address']);
    expect(await errors({ address: { $gt: '' } })).toEqual(['address']);
    expect(await errors({ address: ['a@dest.test'] })).toEqual(['address']);
    expect(await errors({ address: 'a@dest.test', reason: 'hard_bounce' })).toEqual(['(body)']);
    expect(
      await errors({ address: 'a@dest.test', expiresAt: new Date(Date.now() - DAY).toISOString() }),
    ).toEqual(['expiresAt']);
    expect(await errors({ address: 'a@dest.test', expiresAt: 'tomorrow' })).toEqual(['expiresAt']);

    const query = async (q: string) =>
      expectProblem(await api.get(`${base(tenantId)}?${q}`), 400, 'invalid-request').errors?.map(
        (e) => e.path,
      );
    expect(await query('limit=0')).toEqual(['limit']);
    expect(await query('limit=201')).toEqual(['limit']);
    expect(await query('cursor=nobody')).toEqual(['cursor']);
    // Refused whichever query parser is in use: an unknown key `cursor[$gt]`, or an object as cursor.
    expect(await query('cursor[$gt]=')).toHaveLength(1);
    // A second tenant in the query is refused by the access guard, naming the field.
    expect(await query('tenantId=ten_other')).toEqual(['tenantId']);

    expect(
      expectProblem(await api.get(one(tenantId, 'no-at-sign')), 400, 'invalid-request').errors?.map(
        (e) => e.path,
      ),
    ).toEqual(['address']);
    expectProblem(await remove(tenantId, 'a@b@dest.test'), 400, 'invalid-request');
    expect(await db.collection(COLLECTIONS.suppressions).countDocuments({ tenantId })).toBe(0);
  });
});
