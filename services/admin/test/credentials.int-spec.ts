import { COLLECTIONS } from '@ser/data';
import type { CredentialDocument } from '@ser/data';
import type { Db } from 'mongodb';
import type { AdminClient, ApiResponse } from './admin-client';
import { expectProblem, startAdminFixture } from './admin-fixture';
import type { AdminFixture } from './admin-fixture';

interface CredentialView {
  id: string;
  appId: string;
  username: string;
  status: string;
  createdAt: string;
  expiresAt?: string;
  lastUsedAt?: string;
  lastUsedIp?: string;
}

/** The secret hash must never leave the database, under any name or shape. */
function expectNoSecret(response: ApiResponse<unknown>): void {
  const text = JSON.stringify(response.body);
  expect(text).not.toContain('secretHash');
  expect(text).not.toContain('scrypt$');
}

describe('admin API: credentials', () => {
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
  const newApp = async (body: Record<string, unknown> = { name: 'billing' }) =>
    api.created<{ id: string; tenantId: string }>(`/v1/tenants/${await newTenant()}/applications`, body);
  const storedCredential = (id: string) =>
    db.collection<CredentialDocument>(COLLECTIONS.credentials).findOne({ _id: id });

  it('requires the bearer token on every credential route', async () => {
    const app = await newApp();
    const anonymous = api.withToken(undefined);
    expectProblem(await anonymous.post(`/v1/applications/${app.id}/credentials`), 401, 'unauthorized');
    expectProblem(await anonymous.get(`/v1/applications/${app.id}/credentials`), 401, 'unauthorized');
    expectProblem(await anonymous.post('/v1/credentials/cred_x/revoke'), 401, 'unauthorized');
    expect(await db.collection(COLLECTIONS.credentials).countDocuments({ appId: app.id })).toBe(0);
  });

  it('creates credentials with and without an expiry, and lists them without secrets', async () => {
    const app = await newApp();
    const path = `/v1/applications/${app.id}/credentials`;
    expect(await api.get<CredentialView[]>(path)).toMatchObject({ status: 200, body: [] });

    const expiresAt = new Date(Date.now() + 7 * 86_400_000);
    const offset = expiresAt.toISOString().replace('Z', '+00:00');
    const expiring = await api.post<CredentialView & { password: string }>(path, { expiresAt: offset });
    expect(expiring.status).toBe(201);
    expectNoSecret(expiring);
    expect(expiring.body).toMatchObject({
      appId: app.id,
      status: 'active',
      expiresAt: expiresAt.toISOString(),
    });
    expect(expiring.body.password.length).toBeGreaterThanOrEqual(22);
    expect((await storedCredential(expiring.body.id))?.expiresAt).toEqual(expiresAt);

    const forever = await api.created<CredentialView>(path, {});
    expect(forever).not.toHaveProperty('expiresAt');
    expect(await storedCredential(forever.id)).not.toHaveProperty('expiresAt');

    // What ingress records on use shows in the list.
    const lastUsedAt = new Date('2030-01-02T03:04:05.000Z');
    await db
      .collection<CredentialDocument>(COLLECTIONS.credentials)
      .updateOne({ _id: forever.id }, { $set: { lastUsedAt, lastUsedIp: '192.0.2.7' } });

    const list = await api.get<CredentialView[]>(path);
    expect(list.status).toBe(200);
    expectNoSecret(list);
    expect(list.body).toEqual([
      {
        id: expiring.body.id,
        appId: app.id,
        username: expiring.body.username,
        status: 'active',
        createdAt: expiring.body.createdAt,
        expiresAt: expiresAt.toISOString(),
      },
      {
        id: forever.id,
        appId: app.id,
        username: forever.username,
        status: 'active',
        createdAt: forever.createdAt,
        lastUsedAt: lastUsedAt.toISOString(),
        lastUsedIp: '192.0.2.7',
      },
    ]);
    expect(JSON.stringify(list.body)).not.toContain('password');

    // Another application's credentials, in the same tenant or another, stay out of the list.
    const sibling = await api.created(`/v1/tenants/${app.tenantId}/applications`, { name: 'sibling' });
    const stranger = await newApp();
    for (const { id } of [sibling, stranger]) {
      await api.created(`/v1/applications/${id}/credentials`);
    }
    expect((await api.get<CredentialView[]>(path)).body.map((c) => c.id)).toEqual([
      expiring.body.id,
      forever.id,
    ]);

    expectProblem(await api.get('/v1/applications/app_unknown/credentials'), 404, 'not-found');
  });

  it.each([
    ['a past expiry', { expiresAt: '2020-01-01T00:00:00Z' }, 'expiresAt', 'must be in the future'],
    [
      'a date without a time',
      { expiresAt: '2099-01-01' },
      'expiresAt',
      'expected an ISO 8601 date-time with Z or an offset',
    ],
    [
      'a time without an offset',
      { expiresAt: '2099-01-01T00:00:00' },
      'expiresAt',
      'expected an ISO 8601 date-time with Z or an offset',
    ],
    [
      'a number',
      { expiresAt: 4_102_444_800_000 },
      'expiresAt',
      'expected an ISO 8601 date-time with Z or an offset',
    ],
    ['an unknown field', { expiresIn: 3600 }, '(body)', 'Unrecognized key: "expiresIn"'],
  ])('refuses a credential with %s (400)', async (_case, body, path, message) => {
    const app = await newApp();
    const problem = expectProblem(
      await api.post(`/v1/applications/${app.id}/credentials`, body),
      400,
      'invalid-request',
    );
    expect(problem.errors).toEqual([{ path, message }]);
    expect(await db.collection(COLLECTIONS.credentials).countDocuments({ appId: app.id })).toBe(0);
  });

  it('revokes a credential idempotently, leaving the others active', async () => {
    const app = await newApp();
    const path = `/v1/applications/${app.id}/credentials`;
    const revokedOne = await api.created<CredentialView>(path);
    const kept = await api.created<CredentialView>(path);

    const first = await api.post<CredentialView>(`/v1/credentials/${revokedOne.id}/revoke`);
    expect(first.status).toBe(200);
    expectNoSecret(first);
    expect(first.body).toEqual({
      id: revokedOne.id,
      appId: app.id,
      username: revokedOne.username,
      status: 'revoked',
      createdAt: revokedOne.createdAt,
    });
    const again = await api.post<CredentialView>(`/v1/credentials/${revokedOne.id}/revoke`, {});
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);

    expect((await storedCredential(revokedOne.id))?.status).toBe('revoked');
    expect((await storedCredential(revokedOne.id))?.secretHash).toMatch(/^scrypt\$/);
    expect((await storedCredential(kept.id))?.status).toBe('active');
    const list = await api.get<CredentialView[]>(path);
    expect(list.body.map((c) => [c.id, c.status])).toEqual([
      [revokedOne.id, 'revoked'],
      [kept.id, 'active'],
    ]);

    const withOption = expectProblem(
      await api.post(`/v1/credentials/${kept.id}/revoke`, { force: true }),
      400,
      'invalid-request',
    );
    expect(withOption.errors).toEqual([{ path: '(body)', message: 'Unrecognized key: "force"' }]);
    expect((await storedCredential(kept.id))?.status).toBe('active');

    const missing = expectProblem(await api.post('/v1/credentials/cred_unknown/revoke'), 404, 'not-found');
    expect(missing.detail).toBe('credential not found');
    expect(
      await db
        .collection<CredentialDocument>(COLLECTIONS.credentials)
        .countDocuments({ _id: 'cred_unknown' }),
    ).toBe(0);
  });
});
