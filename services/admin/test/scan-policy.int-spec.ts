import { COLLECTIONS } from '@ser/data';
import type { ApplicationDocument, TenantDocument } from '@ser/data';
import type { Db } from 'mongodb';
import type { AdminClient } from './admin-client';
import { expectProblem, startAdminFixture } from './admin-fixture';
import type { AdminFixture } from './admin-fixture';

describe('admin API: scan policy', () => {
  let fixture: AdminFixture | undefined;
  let db: Db;
  let api: AdminClient;

  beforeAll(async () => {
    fixture = await startAdminFixture();
    ({ db, api } = fixture);
  });

  afterAll(async () => {
    await fixture?.stop();
  });

  const newTenant = async () => (await api.created('/v1/tenants', { name: 'Acme' })).id;
  const storedTenant = (id: string) =>
    db.collection<TenantDocument>(COLLECTIONS.tenants).findOne({ _id: id });
  const storedApp = (id: string) =>
    db.collection<ApplicationDocument>(COLLECTIONS.applications).findOne({ _id: id });

  it('patches a tenant: name and scan policy merged key by key, null removes a field or the policy', async () => {
    const tenantId = await newTenant();
    const path = `/v1/tenants/${tenantId}`;

    const set = await api.patch(path, {
      name: ' Acme Ltd ',
      scanPolicy: {
        spamQuarantineScore: 4,
        spamRejectScore: 9.5,
        phishingAction: 'reject',
        blockedAttachmentTypes: ['.EXE', 'js', 'exe'],
        spamdUnavailable: 'hold',
      },
    });
    expect(set.status).toBe(200);
    const policy = {
      spamQuarantineScore: 4,
      spamRejectScore: 9.5,
      phishingAction: 'reject',
      blockedAttachmentTypes: ['exe', 'js'],
      spamdUnavailable: 'hold',
    };
    expect(set.body).toMatchObject({ id: tenantId, name: 'Acme Ltd', status: 'active', scanPolicy: policy });
    expect((await api.get(path)).body).toEqual(set.body);

    const merged = await api.patch(path, {
      scanPolicy: { phishingAction: null, blockedAttachmentAction: 'quarantine', spamRejectScore: 20 },
    });
    expect(merged.status).toBe(200);
    expect(merged.body['scanPolicy']).toEqual({
      spamQuarantineScore: 4,
      spamRejectScore: 20,
      blockedAttachmentTypes: ['exe', 'js'],
      blockedAttachmentAction: 'quarantine',
      spamdUnavailable: 'hold',
    });
    expect((await storedTenant(tenantId))?.scanPolicy).toEqual(merged.body['scanPolicy']);

    const cleared = await api.patch(path, { scanPolicy: null });
    expect(cleared.status).toBe(200);
    expect(cleared.body).not.toHaveProperty('scanPolicy');
    expect(await storedTenant(tenantId)).not.toHaveProperty('scanPolicy');
    expect(cleared.body['name']).toBe('Acme Ltd');
  });

  it('refuses invalid tenant patches with 400 and unknown tenants with 404', async () => {
    const tenantId = await newTenant();
    const path = `/v1/tenants/${tenantId}`;
    const refusals: [unknown, string, string][] = [
      [{}, '(body)', 'the body must change at least one field'],
      [{ name: null }, 'name', 'Invalid input: expected string, received null'],
      [{ status: 'deleted' }, 'status', 'Invalid option: expected one of "active"|"suspended"'],
      [
        { scanPolicy: { spamQuarantineScore: 10, spamRejectScore: 5 } },
        'scanPolicy.spamRejectScore',
        'must be at least spamQuarantineScore',
      ],
      [{ scanPolicy: { spamScore: 5 } }, 'scanPolicy', 'Unrecognized key: "spamScore"'],
      [
        { scanPolicy: { phishingAction: 'allow' } },
        'scanPolicy.phishingAction',
        'Invalid option: expected one of "reject"|"quarantine"|"ignore"',
      ],
      [
        { scanPolicy: { spamRejectScore: 1001 } },
        'scanPolicy.spamRejectScore',
        'Too big: expected number to be <=1000',
      ],
      [
        { scanPolicy: { blockedAttachmentTypes: ['exe', 'tar.gz'] } },
        'scanPolicy.blockedAttachmentTypes.1',
        'expected a file name extension: 1 to 16 letters or digits',
      ],
    ];
    for (const [body, errorPath, message] of refusals) {
      const problem = expectProblem(await api.patch(path, body), 400, 'invalid-request');
      expect(problem.errors).toEqual([{ path: errorPath, message }]);
    }
    expect(await storedTenant(tenantId)).toMatchObject({ name: 'Acme' });
    expect(await storedTenant(tenantId)).not.toHaveProperty('scanPolicy');

    const missing = expectProblem(
      await api.patch('/v1/tenants/ten_unknown', { name: 'x' }),
      404,
      'not-found',
    );
    expect(missing.detail).toBe('tenant not found');
  });

  it('creates an application with scan policy overrides and patches them', async () => {
    const tenantId = await newTenant();
    const created = await api.post(`/v1/tenants/${tenantId}/applications`, {
      name: 'billing',
      scanPolicy: { spamRejectScore: 15, blockedAttachmentTypes: ['Zip'], blockedAttachmentAction: 'ignore' },
    });
    expect(created.status).toBe(201);
    const appId = created.body['id'] as string;
    expect(created.body['scanPolicy']).toEqual({
      spamRejectScore: 15,
      blockedAttachmentTypes: ['zip'],
      blockedAttachmentAction: 'ignore',
    });
    expect((await storedApp(appId))?.scanPolicy).toEqual(created.body['scanPolicy']);

    const patched = await api.patch(`/v1/applications/${appId}`, {
      scanPolicy: { spamRejectScore: null, spamdUnavailable: 'continue', blockedAttachmentTypes: [] },
    });
    expect(patched.status).toBe(200);
    expect(patched.body['scanPolicy']).toEqual({
      blockedAttachmentTypes: [],
      blockedAttachmentAction: 'ignore',
      spamdUnavailable: 'continue',
    });

    const removed = await api.patch(`/v1/applications/${appId}`, { scanPolicy: null });
    expect(removed.status).toBe(200);
    expect(removed.body).not.toHaveProperty('scanPolicy');
    expect(await storedApp(appId)).not.toHaveProperty('scanPolicy');
  });

  it.each([
    [
      'a reject score under the quarantine score',
      { spamQuarantineScore: 8, spamRejectScore: 7.9 },
      'scanPolicy.spamRejectScore',
      'must be at least spamQuarantineScore',
    ],
    ['an unknown key', { rejectScore: 7 }, 'scanPolicy', 'Unrecognized key: "rejectScore"'],
    [
      'a bad action',
      { blockedAttachmentAction: 'hold' },
      'scanPolicy.blockedAttachmentAction',
      'Invalid option: expected one of "reject"|"quarantine"|"ignore"',
    ],
    [
      'a bad spamd choice',
      { spamdUnavailable: 'reject' },
      'scanPolicy.spamdUnavailable',
      'Invalid option: expected one of "continue"|"hold"',
    ],
    [
      'a negative score',
      { spamQuarantineScore: -1 },
      'scanPolicy.spamQuarantineScore',
      'Too small: expected number to be >=0',
    ],
    [
      'null on creation',
      { phishingAction: null },
      'scanPolicy.phishingAction',
      'Invalid option: expected one of "reject"|"quarantine"|"ignore"',
    ],
  ])('refuses an application scan policy with %s (400)', async (_case, scanPolicy, path, message) => {
    const tenantId = await newTenant();
    const problem = expectProblem(
      await api.post(`/v1/tenants/${tenantId}/applications`, { name: 'billing', scanPolicy }),
      400,
      'invalid-request',
    );
    expect(problem.errors).toEqual([{ path, message }]);
    expect(await db.collection(COLLECTIONS.applications).countDocuments({ tenantId })).toBe(0);

    const app = await api.created(`/v1/tenants/${tenantId}/applications`, { name: 'other' });
    if (path !== 'scanPolicy.phishingAction') {
      const patch = expectProblem(
        await api.patch(`/v1/applications/${app.id}`, { scanPolicy }),
        400,
        'invalid-request',
      );
      expect(patch.errors).toEqual([{ path, message }]);
    }
    expect(await storedApp(app.id)).not.toHaveProperty('scanPolicy');
  });
});
