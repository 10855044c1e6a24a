import { COLLECTIONS } from '@ser/data';
import type { ApplicationDocument } from '@ser/data';
import type { Db } from 'mongodb';
import type { AdminClient } from './admin-client';
import { expectProblem, startAdminFixture } from './admin-fixture';
import type { AdminFixture } from './admin-fixture';

interface ApplicationView extends Omit<ApplicationDocument, '_id' | 'createdAt'> {
  id: string;
  createdAt: string;
}

describe('admin API: applications', () => {
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
    api.created<ApplicationView>(`/v1/tenants/${await newTenant()}/applications`, body);
  const storedApp = (id: string) =>
    db.collection<ApplicationDocument>(COLLECTIONS.applications).findOne({ _id: id });

  it('requires the bearer token to change an application', async () => {
    const app = await newApp();
    const anonymous = api.withToken(undefined);
    expectProblem(
      await anonymous.patch(`/v1/applications/${app.id}`, { status: 'suspended' }),
      401,
      'unauthorized',
    );
    expect((await storedApp(app.id))?.status).toBe('active');
  });

  it('takes the source allowlist as allowedIps (the contract name) or allowedSourceIps, not both', async () => {
    const app = await newApp({ name: 'ips', allowedIps: [' 192.0.2.7', '10.1.0.0/16'] });
    expect(app).toMatchObject({ allowedIps: ['192.0.2.7', '10.1.0.0/16'] });
    // Stored under the name ingress reads.
    expect(await storedApp(app.id)).toMatchObject({ allowedSourceIps: ['192.0.2.7', '10.1.0.0/16'] });
    const patched = await api.patch(`/v1/applications/${app.id}`, { allowedIps: ['198.51.100.0/24'] });
    expect(patched.body).toMatchObject({ allowedIps: ['198.51.100.0/24'] });
    expect((await storedApp(app.id))?.allowedSourceIps).toEqual(['198.51.100.0/24']);
    expect((await api.patch(`/v1/applications/${app.id}`, { allowedIps: null })).status).toBe(200);
    expect(await storedApp(app.id)).not.toHaveProperty('allowedSourceIps');

    const both = expectProblem(
      await api.patch(`/v1/applications/${app.id}`, {
        allowedIps: ['10.0.0.1'],
        allowedSourceIps: ['10.0.0.2'],
      }),
      400,
      'invalid-request',
    );
    expect(both.errors?.map((e) => e.path)).toEqual(['allowedIps']);
    const bad = expectProblem(
      await api.post(`/v1/tenants/${app.tenantId}/applications`, { name: 'x', allowedIps: ['10.0.0.0/33'] }),
      400,
      'invalid-request',
    );
    expect(bad.errors?.map((e) => e.path)).toEqual(['allowedIps.0']);
  });

  it('creates an application with its sending settings, normalised', async () => {
    const app = await newApp({
      name: 'alerts',
      allowedFromDomains: ['Acme.test'],
      allowedFromAddresses: [' Alerts-*@Acme.test', '*@mail.acme.test'],
      allowedSourceIps: ['192.0.2.10', '10.0.0.0/8', '2001:db8::/32'],
      bulkPolicy: 'flag',
      limits: { messagesPerMinute: 60, messagesPerDay: 5000, recipientsPerDay: 20_000, maxConnections: 4 },
    });
    const expected = {
      name: 'alerts',
      status: 'active',
      allowedFromDomains: ['acme.test'],
      allowedFromAddresses: ['alerts-*@acme.test', '*@mail.acme.test'],
      allowedSourceIps: ['192.0.2.10', '10.0.0.0/8', '2001:db8::/32'],
      bulkPolicy: 'flag',
      limits: { messagesPerMinute: 60, messagesPerDay: 5000, recipientsPerDay: 20_000, maxConnections: 4 },
    };
    expect(app).toMatchObject(expected);
    expect(await storedApp(app.id)).toMatchObject({ _id: app.id, ...expected });

    // Settings left out are absent, not null: ingress reads absent as "no restriction".
    const plain = await newApp({ name: 'plain' });
    const stored = await storedApp(plain.id);
    expect(stored).not.toBeNull();
    for (const field of ['allowedFromAddresses', 'allowedSourceIps', 'bulkPolicy', 'limits']) {
      expect(stored).not.toHaveProperty(field);
      expect(plain).not.toHaveProperty(field);
    }
  });

  it.each([
    [
      'a bad CIDR block',
      { allowedSourceIps: ['10.0.0.0/33'] },
      'allowedSourceIps.0',
      'not an IP address or CIDR block',
    ],
    [
      'a host name as source',
      { allowedSourceIps: ['10.0.0.1', 'mx.acme.test'] },
      'allowedSourceIps.1',
      'not an IP address or CIDR block',
    ],
    [
      '* in the domain',
      { allowedFromAddresses: ['alerts@*.acme.test'] },
      'allowedFromAddresses.0',
      '* is allowed in the local part only',
    ],
    [
      'two @',
      { allowedFromAddresses: ['a@b@acme.test'] },
      'allowedFromAddresses.0',
      'must contain exactly one @',
    ],
    [
      'a bad pattern domain',
      { allowedFromAddresses: ['a@acme'] },
      'allowedFromAddresses.0',
      'the domain part is not a valid domain name',
    ],
    [
      'a negative limit',
      { limits: { messagesPerDay: -1 } },
      'limits.messagesPerDay',
      'Too small: expected number to be >0',
    ],
    [
      'a zero limit',
      { limits: { maxConnections: 0 } },
      'limits.maxConnections',
      'Too small: expected number to be >0',
    ],
    [
      'a fractional limit',
      { limits: { messagesPerMinute: 1.5 } },
      'limits.messagesPerMinute',
      'Invalid input: expected int, received number',
    ],
    [
      'a limit over its maximum',
      { limits: { maxConnections: 10_001 } },
      'limits.maxConnections',
      'Too big: expected number to be <=10000',
    ],
    ['an unknown limit', { limits: { messagesPerHour: 5 } }, 'limits', 'Unrecognized key: "messagesPerHour"'],
    ['an unknown field', { allowedCidrs: ['10.0.0.1'] }, '(body)', 'Unrecognized key: "allowedCidrs"'],
    [
      'an unknown bulk policy',
      { bulkPolicy: 'allow' },
      'bulkPolicy',
      'Invalid option: expected one of "reject"|"flag"',
    ],
    [
      '101 patterns',
      { allowedFromAddresses: Array.from({ length: 101 }, (_, i) => `a${i}@acme.test`) },
      'allowedFromAddresses',
      'Too big: expected array to have <=100 items',
    ],
  ])('refuses an application with %s (400)', async (_case, settings, path, message) => {
    const tenantId = await newTenant();
    const problem = expectProblem(
      await api.post(`/v1/tenants/${tenantId}/applications`, { name: 'billing', ...settings }),
      400,
      'invalid-request',
    );
    expect(problem.errors).toEqual([{ path, message }]);
    expect(await db.collection(COLLECTIONS.applications).countDocuments({ tenantId })).toBe(0);
  });

  it('patches an application: sets, merges limits, removes with null, and returns the view', async () => {
    const app = await newApp({
      name: 'billing',
      allowedFromAddresses: ['billing@acme.test'],
      allowedSourceIps: ['10.0.0.0/8'],
      bulkPolicy: 'flag',
      limits: { messagesPerDay: 1000, maxConnections: 5 },
    });
    const path = `/v1/applications/${app.id}`;

    const suspended = await api.patch<ApplicationView>(path, {
      name: ' invoices ',
      status: 'suspended',
      allowedFromDomains: ['ACME.test'],
      allowedSourceIps: ['192.0.2.0/24'],
      limits: { messagesPerDay: 2000, maxConnections: null, messagesPerMinute: 10 },
    });
    expect(suspended.status).toBe(200);
    const changed = {
      id: app.id,
      tenantId: app.tenantId,
      name: 'invoices',
      status: 'suspended',
      allowedFromDomains: ['acme.test'],
      allowedFromAddresses: ['billing@acme.test'],
      allowedSourceIps: ['192.0.2.0/24'],
      bulkPolicy: 'flag',
      limits: { messagesPerDay: 2000, messagesPerMinute: 10 },
      createdAt: app.createdAt,
    };
    expect(suspended.body).toEqual({ ...changed, allowedIps: changed.allowedSourceIps });
    const { id, createdAt, ...stored } = changed;
    expect(await storedApp(app.id)).toEqual({ _id: id, createdAt: new Date(createdAt), ...stored });

    const cleared = await api.patch<ApplicationView>(path, {
      status: 'active',
      allowedFromAddresses: null,
      allowedSourceIps: null,
      bulkPolicy: null,
      limits: null,
    });
    expect(cleared.status).toBe(200);
    expect(cleared.body).toEqual({
      id,
      tenantId: app.tenantId,
      name: 'invoices',
      status: 'active',
      allowedFromDomains: ['acme.test'],
      createdAt,
    });
    const after = await storedApp(app.id);
    for (const field of ['allowedFromAddresses', 'allowedSourceIps', 'bulkPolicy', 'limits']) {
      expect(after).not.toHaveProperty(field);
    }
  });

  it('refuses invalid patches with 400 and unknown applications with 404', async () => {
    const app = await newApp();
    const path = `/v1/applications/${app.id}`;
    const refusals: [unknown, string, string][] = [
      [{}, '(body)', 'the body must change at least one field'],
      [{ name: null }, 'name', 'Invalid input: expected string, received null'],
      [{ allowedFromDomains: null }, 'allowedFromDomains', 'Invalid input: expected array, received null'],
      [{ status: 'deleted' }, 'status', 'Invalid option: expected one of "active"|"suspended"'],
      [{ allowedSourceIps: ['300.0.0.1'] }, 'allowedSourceIps.0', 'not an IP address or CIDR block'],
      [
        { allowedFromAddresses: ['*@acme.*'] },
        'allowedFromAddresses.0',
        '* is allowed in the local part only',
      ],
      [
        { limits: { recipientsPerDay: -10 } },
        'limits.recipientsPerDay',
        'Too small: expected number to be >0',
      ],
      [{ tenantId: 'ten_other' }, '(body)', 'Unrecognized key: "tenantId"'],
    ];
    for (const [body, errorPath, message] of refusals) {
      const problem = expectProblem(await api.patch(path, body), 400, 'invalid-request');
      expect(problem.errors).toEqual([{ path: errorPath, message }]);
    }
    // A body the JSON parser skips (wrong content type) must not pass as an empty, successful patch.
    const unparsed = await api.request('PATCH', path, '{"status":"suspended"}', {
      'content-type': 'text/plain',
    });
    expectProblem(unparsed, 400, 'invalid-request');
    expect(await storedApp(app.id)).toMatchObject({
      name: 'billing',
      status: 'active',
      tenantId: app.tenantId,
    });

    const missing = expectProblem(
      await api.patch('/v1/applications/app_unknown', { status: 'suspended' }),
      404,
      'not-found',
    );
    expect(missing.detail).toBe('application not found');
    expectProblem(await api.patch('/v1/applications/app_unknown', { limits: {} }), 404, 'not-found');
  });
});
