import type { AdminClient } from './admin-client';
import { expectProblem, startAdminFixture } from './admin-fixture';
import type { AdminFixture } from './admin-fixture';

interface DomainView {
  id: string;
  name: string;
  tenantId: string;
  verification: { name: string; type: string; value: string };
  verifiedAt: string | null;
}
interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

describe('admin API: tenants, domains, applications and credentials by the contract paths', () => {
  let fixture: AdminFixture | undefined;
  let api: AdminClient;

  beforeAll(async () => {
    fixture = await startAdminFixture();
    ({ api } = fixture);
  });

  afterAll(async () => {
    await fixture?.stop();
  });

  const newTenant = async (name = 'Acme') => (await api.created('/v1/tenants', { name })).id;
  const tenantToken = async (tenantId: string, role = 'tenant-admin') =>
    api.withToken((await api.created<{ token: string }>('/v1/tokens', { name: role, role, tenantId })).token);

  it('creates a domain with a verification TXT record and verifies it once published', async () => {
    const tenantId = await newTenant();
    const domain = await api.created<DomainView>(`/v1/tenants/${tenantId}/domains`, {
      name: 'Verify.Example',
    });
    expect(domain).toMatchObject({ name: 'verify.example', tenantId, verifiedAt: null });
    expect(domain.verification).toMatchObject({ name: '_ser-verification.verify.example', type: 'TXT' });
    expect(domain.verification.value).toMatch(/^ser-verification=[A-Za-z0-9_-]{32}$/);
    expect((await api.get<DomainView>(`/v1/domains/${domain.id}`)).body).toEqual(domain);

    const notYet = expectProblem(await api.post(`/v1/domains/${domain.id}/verify`, {}), 422, 'unprocessable');
    expect(notYet.detail).toContain(domain.verification.value);
    fixture?.dns.set(domain.verification.name, 'TXT', [['another=record']]);
    expectProblem(await api.post(`/v1/domains/${domain.id}/verify`, {}), 422, 'unprocessable');

    fixture?.dns.set(domain.verification.name, 'TXT', [['another=record'], [domain.verification.value]]);
    const verified = await api.post<DomainView>(`/v1/domains/${domain.id}/verify`, {});
    expect(verified.status).toBe(200);
    expect(Date.parse(verified.body.verifiedAt ?? '')).toBeGreaterThan(Date.now() - 60_000);
    // Another tenant's token for the same name would never be accepted: each domain has its own.
    const other = await api.created<DomainView>(`/v1/tenants/${await newTenant('Other')}/domains`, {
      name: 'other.example',
    });
    expect(other.verification.value).not.toBe(domain.verification.value);
  });

  it('lists a tenant’s domains and applications a page at a time', async () => {
    const tenantId = await newTenant();
    for (const name of ['c.example', 'a.example', 'b.example']) {
      await api.created(`/v1/tenants/${tenantId}/domains`, { name });
    }
    const first = await api.get<Page<DomainView>>(`/v1/tenants/${tenantId}/domains?limit=2`);
    expect(first.body.items.map((d) => d.name)).toEqual(['a.example', 'b.example']);
    const second = await api.get<Page<DomainView>>(
      `/v1/tenants/${tenantId}/domains?limit=2&cursor=${first.body.nextCursor ?? ''}`,
    );
    expect(second.body).toEqual({
      items: [expect.objectContaining({ name: 'c.example' })],
      nextCursor: null,
    });

    const apps = [];
    for (const name of ['one', 'two', 'three']) {
      apps.push((await api.created(`/v1/tenants/${tenantId}/applications`, { name })).id);
    }
    const page = await api.get<Page<{ id: string; name: string }>>(
      `/v1/tenants/${tenantId}/applications?limit=2`,
    );
    expect(page.body.items.map((a) => a.id)).toEqual([...apps].sort().slice(0, 2));
    const rest = await api.get<Page<{ id: string }>>(
      `/v1/tenants/${tenantId}/applications?cursor=${page.body.nextCursor ?? ''}`,
    );
    expect(rest.body.items.map((a) => a.id)).toEqual([...apps].sort().slice(2));
    expect((await api.get<{ name: string }>(`/v1/applications/${apps[0] ?? ''}`)).body.name).toBe('one');
    expectProblem(await api.get('/v1/applications/app_unknown'), 404, 'not-found');
    expectProblem(await api.get('/v1/tenants/ten_unknown/applications'), 404, 'not-found');
  });

  it('lists tenants for operators, and only its own tenant for a tenant token', async () => {
    const mine = await newTenant('Mine');
    await newTenant('Theirs');
    const all = await api.get<Page<{ id: string }>>('/v1/tenants?limit=200');
    expect(all.body.items.length).toBeGreaterThanOrEqual(2);
    const ids = all.body.items.map((t) => t.id);
    expect(ids).toEqual([...ids].sort());
    const own = await (await tenantToken(mine, 'tenant-viewer')).get<Page<{ id: string }>>('/v1/tenants');
    expect(own.body).toEqual({ items: [expect.objectContaining({ id: mine })], nextCursor: null });
  });

  it('revokes a credential with DELETE, like POST …/revoke', async () => {
    const tenantId = await newTenant();
    const app = await api.created(`/v1/tenants/${tenantId}/applications`, { name: 'billing' });
    const credential = await api.created(`/v1/applications/${app.id}/credentials`, {});
    const deleted = await api.request<{ status: string }>('DELETE', `/v1/credentials/${credential.id}`);
    expect(deleted.status).toBe(200);
    expect(deleted.body.status).toBe('revoked');
    const listed = await api.get<{ id: string; status: string }[]>(`/v1/applications/${app.id}/credentials`);
    expect(listed.body).toEqual([expect.objectContaining({ id: credential.id, status: 'revoked' })]);
    expectProblem(await api.request('DELETE', '/v1/credentials/cred_unknown'), 404, 'not-found');
  });

  it('keeps force on DKIM keys for operators: a tenant admin must publish the record', async () => {
    const tenantId = await newTenant();
    const domain = await api.created(`/v1/tenants/${tenantId}/domains`, { name: 'force.example' });
    const admin = await tenantToken(tenantId);
    const key = await admin.created(`/v1/domains/${domain.id}/dkim-keys`, { algorithm: 'ed25519' });
    expectProblem(await admin.post(`/v1/dkim-keys/${key.id}/activate`, { force: true }), 403, 'forbidden');
    expectProblem(await admin.post(`/v1/dkim-keys/${key.id}/activate`, {}), 422, 'unprocessable');
    const forced = await api.post<{ status: string }>(`/v1/dkim-keys/${key.id}/activate`, { force: true });
    expect(forced.body.status).toBe('active');
    expectProblem(await admin.post(`/v1/dkim-keys/${key.id}/retire`, { force: true }), 403, 'forbidden');
  });
});
