import { COLLECTIONS, smarthostPasswordAad } from '@ser/data';
import type { AuditDocument, TenantDocument } from '@ser/data';
import { SecretBox } from '@ser/security';
import type { Db } from 'mongodb';
import { randomBytes } from 'node:crypto';
import type { AdminClient } from './admin-client';
import { expectProblem, startAdminFixture } from './admin-fixture';
import type { AdminFixture } from './admin-fixture';

const PASSWORD = 'sm4rthost-Pa55word-never-shown';

/** A tenant's delivery settings through PATCH /v1/tenants/{tenantId}: routes, source addresses, DSN, suppression. */
describe('admin API: tenant delivery settings', () => {
  let fixture: AdminFixture | undefined;
  let db: Db;
  let api: AdminClient;
  let box: SecretBox;

  beforeAll(async () => {
    fixture = await startAdminFixture();
    ({ db, api } = fixture);
    const masterKey = fixture.config.SER_MASTER_KEY;
    if (masterKey === undefined) {
      throw new Error('the admin fixture has no master key');
    }
    box = new SecretBox(masterKey);
  });

  afterAll(async () => {
    await fixture?.stop();
  });

  const newTenant = async () => (await api.created('/v1/tenants', { name: 'Acme' })).id;
  const storedTenant = (tenantId: string) =>
    db.collection<TenantDocument>(COLLECTIONS.tenants).findOne({ _id: tenantId });
  const auditOf = (tenantId: string) =>
    db.collection<AuditDocument>(COLLECTIONS.audit).find({ tenantId, action: 'tenant.update' }).toArray();

  const authRoute = {
    domains: ['Partner.TEST', '.partner.test'],
    host: 'Smtp.Relay.TEST',
    port: 587,
    tls: 'require',
    auth: { username: 'acme-relay', password: PASSWORD },
  };

  it('stores route passwords sealed, bound to tenant and route, and never shows them', async () => {
    const tenantId = await newTenant();
    const path = `/v1/tenants/${tenantId}`;
    const routes = [authRoute, { host: '192.0.2.25', port: 25, tls: 'opportunistic' }];
    const expectedRoutes = [
      {
        domains: ['partner.test', '.partner.test'],
        host: 'smtp.relay.test',
        port: 587,
        tls: 'require',
        auth: { username: 'acme-relay', passwordSet: true },
      },
      { host: '192.0.2.25', port: 25, tls: 'opportunistic' },
    ];

    const patched = await api.patch(path, { routes });
    expect(patched.status).toBe(200);
    expect(patched.body['routes']).toEqual(expectedRoutes);
    const read = await api.get(path);
    expect(read.body['routes']).toEqual(expectedRoutes);
    expect(JSON.stringify([patched.body, read.body])).not.toContain(PASSWORD);

    const stored = await storedTenant(tenantId);
    expect(JSON.stringify(stored)).not.toContain(PASSWORD);
    const sealed = stored?.routes?.[0]?.auth?.password;
    if (sealed === undefined) {
      throw new Error('no sealed password stored');
    }
    const context = { host: 'smtp.relay.test', port: 587, username: 'acme-relay' };
    expect(box.open(sealed, smarthostPasswordAad(tenantId, context))).toBe(PASSWORD);
    // Bound to where it belongs: another tenant's or another host's route does not open it.
    expect(() => box.open(sealed, smarthostPasswordAad('ten_other', context))).toThrow();
    expect(() =>
      box.open(sealed, smarthostPasswordAad(tenantId, { ...context, host: 'evil.test' })),
    ).toThrow();

    const audit = await auditOf(tenantId);
    expect(audit.map((a) => [a.actor, a.target, a.details])).toEqual([
      ['operator:bootstrap', { type: 'tenant', id: tenantId }, { routes: expectedRoutes }],
    ]);
    expect(JSON.stringify(audit)).not.toContain(PASSWORD);
    expect(JSON.stringify(audit)).not.toContain(sealed.data);
  });

  it('sets and clears source addresses, DSN and suppression days, keeping the other settings', async () => {
    const tenantId = await newTenant();
    const path = `/v1/tenants/${tenantId}`;
    const settings = {
      sourceAddresses: ['192.0.2.10', '2001:DB8::25'],
      dsn: true,
      suppressionDays: 0,
      routes: [{ host: 'relay.test', port: 2525, tls: 'verify' }],
    };
    expect((await api.patch(path, settings)).body).toMatchObject({
      ...settings,
      sourceAddresses: ['192.0.2.10', '2001:db8::25'],
      name: 'Acme',
    });
    expect((await api.patch(path, { suppressionDays: 3650, dsn: false })).body).toMatchObject({
      suppressionDays: 3650,
      dsn: false,
      sourceAddresses: ['192.0.2.10', '2001:db8::25'],
    });

    const cleared = await api.patch(path, {
      routes: null,
      sourceAddresses: null,
      dsn: null,
      suppressionDays: null,
    });
    expect(cleared.status).toBe(200);
    for (const field of ['routes', 'sourceAddresses', 'dsn', 'suppressionDays']) {
      expect(cleared.body).not.toHaveProperty(field);
      expect(await storedTenant(tenantId)).not.toHaveProperty(field);
    }
    expect(cleared.body['name']).toBe('Acme');
    expect((await auditOf(tenantId)).at(-1)?.details).toEqual({
      routes: null,
      sourceAddresses: null,
      dsn: null,
      suppressionDays: null,
    });
  });

  it('refuses AUTH without TLS and every malformed setting, naming the field, and changes nothing', async () => {
    const tenantId = await newTenant();
    const path = `/v1/tenants/${tenantId}`;
    await api.patch(path, { dsn: true });
    const route = { host: 'relay.test', port: 25, tls: 'require' };
    const errors = async (body: Record<string, unknown>) =>
      expectProblem(await api.patch(path, body), 400, 'invalid-request').errors;

    expect(await errors({ routes: [route, { ...authRoute, tls: 'none' }] })).toEqual([
      {
        path: 'routes.1.auth',
        message: 'AUTH needs TLS: with tls "none" the password would cross the network in plaintext',
      },
    ]);
    const paths = async (body: Record<string, unknown>) => (await errors(body))?.map((e) => e.path);
    expect(await paths({ routes: [{ ...route, port: 0 }] })).toEqual(['routes.0.port']);
    expect(await paths({ routes: [{ ...route, port: 65_536 }] })).toEqual(['routes.0.port']);
    expect(await paths({ routes: [{ ...route, tls: 'maybe' }] })).toEqual(['routes.0.tls']);
    expect(await paths({ routes: [{ ...route, host: 'not a host' }] })).toEqual(['routes.0.host']);
    expect(await paths({ routes: [{ ...route, host: { $ne: '' } }] })).toEqual(['routes.0.host']);
    expect(await paths({ routes: [{ ...route, domains: ['bücher.test'] }] })).toEqual(['routes.0.domains.0']);
    expect(await paths({ routes: [{ ...route, domains: ['ok.test', '*.x.test'] }] })).toEqual([
      'routes.0.domains.1',
    ]);
    expect(await paths({ routes: [{ ...route, mx: true }] })).toEqual(['routes.0']);
    expect(await paths({ routes: [{ ...route, auth: { username: 'u' } }] })).toEqual([
      'routes.0.auth.password',
    ]);
    expect(await paths({ routes: [{ ...route, auth: { username: 'u\r\nRSET', password: 'p' } }] })).toEqual([
      'routes.0.auth.username',
    ]);
    expect(await paths({ routes: Array.from({ length: 21 }, () => route) })).toEqual(['routes']);
    expect(await paths({ sourceAddresses: ['10.0.0.0/8'] })).toEqual(['sourceAddresses.0']);
    expect(await paths({ sourceAddresses: Array.from({ length: 33 }, (_, i) => `192.0.2.${i}`) })).toEqual([
      'sourceAddresses',
    ]);
    expect(await paths({ dsn: 'yes' })).toEqual(['dsn']);
    expect(await paths({ suppressionDays: 3651 })).toEqual(['suppressionDays']);
    expect(await paths({ suppressionDays: 1.5 })).toEqual(['suppressionDays']);
    expect(await paths({ suppressionDays: -1 })).toEqual(['suppressionDays']);

    const stored = await storedTenant(tenantId);
    expect(stored).not.toHaveProperty('routes');
    expect(stored).not.toHaveProperty('sourceAddresses');
    expect(stored?.dsn).toBe(true);
    expect(await auditOf(tenantId)).toHaveLength(1);
  });

  it('answers 404 for an unknown tenant with a valid body, and audits nothing', async () => {
    expectProblem(await api.patch('/v1/tenants/ten_unknown', { routes: [authRoute] }), 404, 'not-found');
    expect(await auditOf('ten_unknown')).toEqual([]);
  });
});

/** After a master key rotation, the DKIM rewrap call also moves route passwords to the new key. */
describe('admin API: route passwords across a master key rotation', () => {
  const oldKey = randomBytes(32).toString('base64');
  const newKey = randomBytes(32).toString('base64');
  let fixture: AdminFixture | undefined;

  beforeAll(async () => {
    fixture = await startAdminFixture({ SER_MASTER_KEY: newKey, SER_MASTER_KEY_PREVIOUS: oldKey });
  });

  afterAll(async () => {
    await fixture?.stop();
  });

  it('re-wraps passwords sealed under the previous key, and lists those no configured key opens', async () => {
    const { api, db } = fixture!;
    const tenants = db.collection<TenantDocument>(COLLECTIONS.tenants);
    const oldBox = new SecretBox(oldKey);
    const strangerBox = new SecretBox(randomBytes(32).toString('base64'));
    const route = (host: string, sealer: SecretBox) => ({
      host,
      port: 587,
      tls: 'require' as const,
      auth: {
        username: 'acme',
        password: sealer.seal(
          PASSWORD,
          smarthostPasswordAad('ten_rotated', { host, port: 587, username: 'acme' }),
        ),
      },
    });
    await tenants.insertOne({
      _id: 'ten_rotated',
      name: 'Rotated',
      status: 'active',
      createdAt: new Date(),
      routes: [
        route('old.test', oldBox),
        { host: 'plain.test', port: 25, tls: 'opportunistic' },
        route('lost.test', strangerBox),
      ],
    });

    const rewrap = await api.post<{ routePasswords: unknown }>('/v1/dkim-keys/rewrap', {});
    expect(rewrap.status).toBe(200);
    const newBox = new SecretBox(newKey);
    expect(rewrap.body.routePasswords).toEqual({
      rewrapped: 1,
      failed: [
        {
          tenantId: 'ten_rotated',
          route: 2,
          keyId: strangerBox.keyId,
          reason: expect.any(String) as unknown,
        },
      ],
    });

    const stored = (await tenants.findOne({ _id: 'ten_rotated' }))?.routes ?? [];
    const sealed = stored[0]?.auth?.password;
    expect(sealed?.keyId).toBe(newBox.keyId);
    const aad = smarthostPasswordAad('ten_rotated', { host: 'old.test', port: 587, username: 'acme' });
    // The new key alone opens it now.
    expect(sealed === undefined ? undefined : newBox.open(sealed, aad)).toBe(PASSWORD);
    expect(stored[1]).toEqual({ host: 'plain.test', port: 25, tls: 'opportunistic' });
    expect(stored[2]?.auth?.password.keyId).toBe(strangerBox.keyId);

    const again = await api.post<{ routePasswords: { rewrapped: number } }>('/v1/dkim-keys/rewrap', {});
    expect(again.body.routePasswords.rewrapped).toBe(0);
    const audit = await db
      .collection<AuditDocument>(COLLECTIONS.audit)
      .find({ action: 'smarthost_password.rewrap' })
      .sort({ at: 1, _id: 1 })
      .toArray();
    expect(audit.map((a) => [a.target, a.details])).toEqual([
      [
        { type: 'master_key', id: newBox.keyId },
        { rewrapped: 1, failed: ['ten_rotated'] },
      ],
      [
        { type: 'master_key', id: newBox.keyId },
        { rewrapped: 0, failed: ['ten_rotated'] },
      ],
    ]);
  });
});
