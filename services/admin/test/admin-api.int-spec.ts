import type { RelayConfig } from '@ser/config';
import { COLLECTIONS, dkimKeyAad } from '@ser/data';
import type { CredentialDocument, DkimKeyDocument } from '@ser/data';
import { SecretBox, verifySecret } from '@ser/security';
import type { RelayTestConfig, TestDnsServer } from '@ser/testing';
import type { Db } from 'mongodb';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import type { AdminClient } from './admin-client';
import { expectProblem, startAdminFixture } from './admin-fixture';
import type { AdminFixture } from './admin-fixture';

interface DkimKeyView {
  id: string;
  domain: string;
  selector: string;
  status: string;
  dnsRecord: { name: string; type: string; value: string; strings: string[] };
}

/** The admin service alone, on the real FerretDB and Redis, with a loopback DNS server. */
describe('admin API', () => {
  let fixture: AdminFixture | undefined;
  let setup: RelayTestConfig;
  let config: RelayConfig;
  let dns: TestDnsServer;
  let db: Db;
  let api: AdminClient;

  beforeAll(async () => {
    fixture = await startAdminFixture();
    ({ setup, config, dns, db, api } = fixture);
  });

  afterAll(async () => {
    await fixture?.stop();
  });

  const newTenant = async (name = 'Acme') => (await api.created('/v1/tenants', { name })).id;

  it('requires the bearer token on /v1 but not on the health endpoints', async () => {
    for (const client of [api.withToken(undefined), api.withToken(`${setup.adminToken}x`)]) {
      const problem = expectProblem(await client.get('/v1/tenants/ten_x'), 401, 'unauthorized');
      expect(problem.title).toBe('Unauthorized');
      expectProblem(await client.post('/v1/tenants', { name: 'Intruder' }), 401, 'unauthorized');
    }
    const basic = await api.request('GET', '/v1/tenants/ten_x', undefined, {
      authorization: `Basic ${Buffer.from(`admin:${setup.adminToken}`).toString('base64')}`,
    });
    expectProblem(basic, 401, 'unauthorized');
    expect(await db.collection(COLLECTIONS.tenants).countDocuments({ name: 'Intruder' })).toBe(0);

    const anonymous = api.withToken(undefined);
    expect(await anonymous.get('/healthz')).toMatchObject({ status: 200, body: { status: 'ok' } });
    const ready = await anonymous.get('/readyz');
    expect(ready.status).toBe(200);
    expect(ready.body).toEqual({ status: 'ready', mongo: 'ok', redis: 'ok', servicesStarting: [] });
  });

  it('answers invalid bodies with 400, unknown tenants with 404 and taken domains with 409', async () => {
    const tenantId = await newTenant();
    const invalidName = expectProblem(
      await api.post(`/v1/tenants/${tenantId}/domains`, { name: 'not a domain' }),
      400,
      'invalid-request',
    );
    expect(invalidName.errors).toEqual([{ path: 'name', message: 'not a valid domain name' }]);
    const unknownField = expectProblem(
      await api.post(`/v1/tenants/${tenantId}/domains`, { name: 'ok.test', owner: 'me' }),
      400,
      'invalid-request',
    );
    expect(unknownField.errors?.map((e) => e.path)).toEqual(['(body)']);
    expect(unknownField.errors?.[0]?.message).toContain('owner');
    const nested = expectProblem(
      await api.post(`/v1/tenants/${tenantId}/applications`, { name: '', allowedFromDomains: ['x'] }),
      400,
      'invalid-request',
    );
    expect(nested.errors?.map((e) => e.path).sort()).toEqual(['allowedFromDomains.0', 'name']);
    expect(await db.collection(COLLECTIONS.domains).countDocuments({ tenantId })).toBe(0);

    // Refused by the body parser, before any route: still problem+json, and a client error.
    const malformed = await api.request('POST', '/v1/tenants', '{"name":');
    expect(malformed).toMatchObject({ status: 400, body: { type: 'about:blank', status: 400 } });
    expect(malformed.contentType).toMatch(/^application\/problem\+json\b/);
    const tooLarge = await api.post('/v1/tenants', { name: 'x'.repeat(200_000) });
    expect(tooLarge).toMatchObject({
      status: 413,
      body: { type: 'about:blank', title: 'Payload Too Large', status: 413 },
    });
    expect(tooLarge.contentType).toMatch(/^application\/problem\+json\b/);

    expectProblem(await api.get('/v1/tenants/ten_unknown'), 404, 'not-found');
    expectProblem(await api.post('/v1/tenants/ten_unknown/domains', { name: 'x.test' }), 404, 'not-found');

    const domain = await api.created<{ id: string; name: string }>(`/v1/tenants/${tenantId}/domains`, {
      name: 'Shop.Example.test',
    });
    expect(domain.name).toBe('shop.example.test');
    expectProblem(
      await api.post(`/v1/tenants/${tenantId}/domains`, { name: 'shop.example.test' }),
      409,
      'conflict',
    );
    const otherTenant = await newTenant('Globex');
    expectProblem(
      await api.post(`/v1/tenants/${otherTenant}/domains`, { name: 'SHOP.example.test' }),
      409,
      'conflict',
    );
    expect(await db.collection(COLLECTIONS.domains).countDocuments({ name: 'shop.example.test' })).toBe(1);
  });

  it('suspends a tenant and makes it active again (operators), audited, refusing any other status', async () => {
    const tenantId = await newTenant('Suspendable');
    const path = `/v1/tenants/${tenantId}`;
    expect((await api.patch(path, { status: 'suspended' })).body).toMatchObject({
      id: tenantId,
      status: 'suspended',
    });
    expect(await db.collection(COLLECTIONS.tenants).findOne({ _id: tenantId as never })).toMatchObject({
      status: 'suspended',
    });
    for (const status of [null, 'deleted', '']) {
      const problem = expectProblem(await api.patch(path, { status }), 400, 'invalid-request');
      expect(problem.errors?.map((e) => e.path)).toEqual(['status']);
    }
    expect((await api.get<{ status: string }>(path)).body.status).toBe('suspended');
    expect((await api.patch(path, { status: 'active' })).body).toMatchObject({ status: 'active' });
    const audited = await db
      .collection(COLLECTIONS.audit)
      .find({ tenantId, action: 'tenant.update' })
      .sort({ at: 1 })
      .toArray();
    expect(audited.map((a) => (a['details'] as { status?: string }).status)).toEqual(['suspended', 'active']);
  });

  it('creates a sealed DKIM key and activates it only when DNS publishes it, or when forced', async () => {
    const tenantId = await newTenant();
    const domain = await api.created(`/v1/tenants/${tenantId}/domains`, { name: 'mail.acme.test' });
    const key = await api.created<DkimKeyView>(`/v1/domains/${domain.id}/dkim-keys`, { algorithm: 'rsa' });
    expect(key.status).toBe('pending');
    expect(key.dnsRecord.name).toBe(`${key.selector}._domainkey.mail.acme.test`);
    expect(key.dnsRecord.value).toMatch(/^v=DKIM1; k=rsa; p=[A-Za-z0-9+/=]+$/);
    expect(key.dnsRecord.strings.length).toBeGreaterThan(1);
    expect(key.dnsRecord.strings.every((s) => s.length <= 255)).toBe(true);
    expect(key.dnsRecord.strings.join('')).toBe(key.dnsRecord.value);

    const stored = await db.collection<DkimKeyDocument>(COLLECTIONS.dkimKeys).findOne({ _id: key.id });
    expect(JSON.stringify(stored)).not.toContain('PRIVATE KEY');
    expect(Buffer.from(stored?.privateKey.data ?? '', 'base64').toString('latin1')).not.toContain(
      'PRIVATE KEY',
    );
    // The sealed value is the private half of the published key, under the master key.
    const pem = new SecretBox(config.SER_MASTER_KEY ?? '').open(stored!.privateKey, dkimKeyAad(key.id));
    const derived = createPublicKey(pem).export({ type: 'spki', format: 'der' }).toString('base64');
    expect(key.dnsRecord.value).toBe(`v=DKIM1; k=rsa; p=${derived}`);

    const activate = () => api.post<DkimKeyView>(`/v1/dkim-keys/${key.id}/activate`, {});
    expectProblem(await activate(), 422, 'unprocessable');

    const otherKey = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .publicKey.export({ type: 'spki', format: 'der' })
      .toString('base64');
    dns.set(key.dnsRecord.name, 'TXT', [`v=DKIM1; k=rsa; p=${otherKey}`]);
    expectProblem(await activate(), 422, 'unprocessable');
    expect(await statusOf(key.id)).toBe('pending');

    dns.set(key.dnsRecord.name, 'TXT', [key.dnsRecord.strings]);
    const activated = await activate();
    expect(activated.status).toBe(200);
    expect(activated.body).toMatchObject({ id: key.id, status: 'active' });
    expect(await statusOf(key.id)).toBe('active');

    const forcedKey = await api.created<DkimKeyView>(`/v1/domains/${domain.id}/dkim-keys`, {
      algorithm: 'ed25519',
    });
    dns.clearQueries();
    const forced = await api.post<DkimKeyView>(`/v1/dkim-keys/${forcedKey.id}/activate`, { force: true });
    expect(forced.status).toBe(200);
    expect(forced.body.status).toBe('active');
    expect(await statusOf(forcedKey.id)).toBe('active');
    expect(dns.queries).toEqual([]);
  });

  async function statusOf(keyId: string): Promise<string | undefined> {
    return (await db.collection<DkimKeyDocument>(COLLECTIONS.dkimKeys).findOne({ _id: keyId }))?.status;
  }

  it('returns a credential secret once and stores only its scrypt hash', async () => {
    const tenantId = await newTenant();
    const app = await api.created(`/v1/tenants/${tenantId}/applications`, { name: 'billing' });
    const credential = await api.created<{ id: string; username: string; password: string }>(
      `/v1/applications/${app.id}/credentials`,
    );
    expect(credential.username).toMatch(/^[a-z0-9_]+$/);
    expect(credential.password).toMatch(/^[A-Za-z0-9_-]{22,}$/);
    expect(Buffer.from(credential.password, 'base64url').length).toBeGreaterThanOrEqual(16);

    const stored = await db
      .collection<CredentialDocument>(COLLECTIONS.credentials)
      .findOne({ _id: credential.id });
    expect(stored).toMatchObject({
      appId: app.id,
      tenantId,
      username: credential.username,
      status: 'active',
    });
    expect(stored?.secretHash).toMatch(/^scrypt\$/);
    expect(JSON.stringify(stored)).not.toContain(credential.password);
    expect(await verifySecret(credential.password, stored?.secretHash ?? '')).toBe(true);

    const second = await api.created<{ username: string; password: string }>(
      `/v1/applications/${app.id}/credentials`,
    );
    expect(second.username).not.toBe(credential.username);
    expect(second.password).not.toBe(credential.password);

    expectProblem(await api.post('/v1/applications/app_unknown/credentials'), 404, 'not-found');
    expect(await db.collection(COLLECTIONS.credentials).countDocuments({ appId: 'app_unknown' })).toBe(0);
  });
});
