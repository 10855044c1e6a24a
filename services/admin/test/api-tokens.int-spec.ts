import { COLLECTIONS } from '@ser/data';
import type { ApiTokenDocument, AuditDocument } from '@ser/data';
import { hashToken } from '@ser/security';
import { createLogger } from '@ser/logger';
import { startServices } from '@ser/runtime';
import { relayTestConfig } from '@ser/testing';
import type { Db } from 'mongodb';
import { rmSync } from 'node:fs';
import { adminService } from '../src/index';
import type { AdminClient } from './admin-client';
import { expectProblem, startAdminFixture } from './admin-fixture';
import type { AdminFixture } from './admin-fixture';

interface IssuedToken {
  id: string;
  token: string;
  name: string;
  role: string;
  tenantId?: string;
  createdBy: string;
}

describe('admin API: API tokens and roles', () => {
  let fixture: AdminFixture | undefined;
  let db: Db;
  let operator: AdminClient;
  let tenantA: string;
  let tenantB: string;

  beforeAll(async () => {
    fixture = await startAdminFixture();
    ({ db, api: operator } = fixture);
    tenantA = (await operator.created('/v1/tenants', { name: 'Acme' })).id;
    tenantB = (await operator.created('/v1/tenants', { name: 'Globex' })).id;
  });

  afterAll(async () => {
    await fixture?.stop();
  });

  const issue = (by: AdminClient, body: Record<string, unknown>) =>
    by.created<IssuedToken>('/v1/tokens', body);
  const as = (issued: IssuedToken) => operator.withToken(issued.token);

  it('issues a token whose secret is shown once and stored only as a hash', async () => {
    const issued = await issue(operator, { name: 'acme ops', role: 'tenant-admin', tenantId: tenantA });
    expect(issued).toMatchObject({
      name: 'acme ops',
      role: 'tenant-admin',
      tenantId: tenantA,
      createdBy: 'operator:bootstrap',
    });
    expect(issued.token).toMatch(/^ser\.tok_[0-9a-f]{24}\.[A-Za-z0-9_-]{43}$/);
    const secret = issued.token.split('.')[2] ?? '';

    const stored = await db.collection<ApiTokenDocument>(COLLECTIONS.apiTokens).findOne({ _id: issued.id });
    expect(stored?.secretHash).toBe(hashToken(secret));
    expect(JSON.stringify(stored)).not.toContain(secret);

    const listed = await operator.get<{ items: Record<string, unknown>[] }>(`/v1/tokens?tenantId=${tenantA}`);
    expect(listed.status).toBe(200);
    const entry = listed.body.items.find((t) => t['id'] === issued.id);
    expect(entry).toMatchObject({ name: 'acme ops', role: 'tenant-admin' });
    expect(JSON.stringify(listed.body)).not.toContain(secret);
    expect(entry).not.toHaveProperty('secretHash');
    expect(entry).not.toHaveProperty('token');
  });

  it('refuses a missing, malformed, unknown or wrong bearer token with 401', async () => {
    const issued = await issue(operator, { name: 'x', role: 'tenant-viewer', tenantId: tenantA });
    const [, id, secret = ''] = issued.token.split('.');
    const wrongSecret = `ser.${id ?? ''}.${secret.slice(0, -1)}${secret.endsWith('A') ? 'B' : 'A'}`;
    for (const token of [undefined, 'nonsense', `ser.tok_${'0'.repeat(24)}.${secret}`, wrongSecret]) {
      expectProblem(await operator.withToken(token).get(`/v1/tenants/${tenantA}`), 401, 'unauthorized');
    }
    expect((await as(issued).get(`/v1/tenants/${tenantA}`)).status).toBe(200);
  });

  it('lets a tenant admin manage its own tenant and nothing of the relay', async () => {
    const admin = as(await issue(operator, { name: 'a', role: 'tenant-admin', tenantId: tenantA }));
    const app = await admin.created(`/v1/tenants/${tenantA}/applications`, { name: 'billing' });
    const credential = await admin.created<{ username: string; password: string }>(
      `/v1/applications/${app.id}/credentials`,
      {},
    );
    expect(credential.password.length).toBeGreaterThan(20);
    expect((await admin.get(`/v1/tenants/${tenantA}`)).status).toBe(200);

    expectProblem(await admin.post('/v1/tenants', { name: 'Mine' }), 403, 'forbidden');
    expectProblem(await admin.patch(`/v1/tenants/${tenantA}`, { retentionDays: 365 }), 403, 'forbidden');
    expectProblem(await admin.post('/v1/dkim-keys/rewrap', {}), 403, 'forbidden');
    // The audit log without a tenant spans every tenant: a tenant token must name its own.
    expectProblem(await admin.get('/v1/audit'), 403, 'forbidden');
    expect((await admin.get(`/v1/audit?tenantId=${tenantA}`)).status).toBe(200);
  });

  it('lets a tenant admin issue tokens of its tenant only, with no escalation or extra fields', async () => {
    const admin = as(await issue(operator, { name: 'a', role: 'tenant-admin', tenantId: tenantA }));
    const viewer = await issue(admin, { name: 'dashboards', role: 'tenant-viewer' });
    expect(viewer).toMatchObject({ tenantId: tenantA, role: 'tenant-viewer' });
    expect(viewer.createdBy).toMatch(/^token:tok_/);

    expectProblem(await admin.post('/v1/tokens', { name: 'root', role: 'operator' }), 403, 'forbidden');
    expectProblem(
      await admin.post('/v1/tokens', { name: 'b', role: 'tenant-admin', tenantId: tenantB }),
      404,
      'not-found',
    );
    for (const extra of [{ createdBy: 'operator:bootstrap' }, { secretHash: 'x' }, { id: 'tok_mine' }]) {
      const problem = expectProblem(
        await admin.post('/v1/tokens', { name: 'c', role: 'tenant-viewer', ...extra }),
        400,
        'invalid-request',
      );
      expect(JSON.stringify(problem.errors)).toContain(Object.keys(extra)[0]);
    }
    // Its list holds its tenant's tokens only, whatever it asks for.
    const own = await admin.get<{ items: { tenantId?: string }[] }>('/v1/tokens');
    expect(own.body.items.length).toBeGreaterThan(0);
    expect(own.body.items.every((t) => t.tenantId === tenantA)).toBe(true);
    expectProblem(await admin.get(`/v1/tokens?tenantId=${tenantB}`), 404, 'not-found');
  });

  it('checks what an operator asks for: a tenant token names an existing tenant, an operator token none', async () => {
    expectProblem(
      await operator.post('/v1/tokens', { name: 'x', role: 'tenant-admin' }),
      400,
      'invalid-request',
    );
    expectProblem(
      await operator.post('/v1/tokens', { name: 'x', role: 'operator', tenantId: tenantA }),
      400,
      'invalid-request',
    );
    expectProblem(
      await operator.post('/v1/tokens', { name: 'x', role: 'tenant-viewer', tenantId: 'ten_unknown' }),
      404,
      'not-found',
    );
    const ops = as(await issue(operator, { name: 'second operator', role: 'operator' }));
    expect((await ops.get(`/v1/tenants/${tenantB}`)).status).toBe(200);
  });

  it('keeps a viewer read-only', async () => {
    const viewer = as(await issue(operator, { name: 'v', role: 'tenant-viewer', tenantId: tenantA }));
    expect((await viewer.get(`/v1/tenants/${tenantA}`)).status).toBe(200);
    expectProblem(await viewer.post(`/v1/tenants/${tenantA}/applications`, { name: 'x' }), 403, 'forbidden');
    expectProblem(await viewer.post('/v1/tokens', { name: 'x', role: 'tenant-viewer' }), 403, 'forbidden');
    expectProblem(await viewer.get('/v1/tokens'), 403, 'forbidden');
  });

  it('stops a revoked token at once, audits issue and revocation, and records last use', async () => {
    const issued = await issue(operator, { name: 'ci', role: 'tenant-admin', tenantId: tenantA });
    const client = as(issued);
    expect((await client.get(`/v1/tenants/${tenantA}`)).status).toBe(200);
    const stored = await db.collection<ApiTokenDocument>(COLLECTIONS.apiTokens).findOne({ _id: issued.id });
    expect(stored?.lastUsedAt).toBeInstanceOf(Date);

    // A tenant admin may revoke its own tenant's tokens, this one included.
    const revoked = await client.request<{ revokedAt?: string; revokedBy?: string }>(
      'DELETE',
      `/v1/tokens/${issued.id}`,
    );
    expect(revoked.status).toBe(200);
    expect(revoked.body.revokedBy).toBe(`token:${issued.id}`);
    expectProblem(await client.get(`/v1/tenants/${tenantA}`), 401, 'unauthorized');
    expectProblem(await operator.request('DELETE', `/v1/tokens/${issued.id}`), 404, 'not-found');

    const audit = await db
      .collection<AuditDocument>(COLLECTIONS.audit)
      .find({ 'target.id': issued.id })
      .sort({ at: 1 })
      .toArray();
    expect(audit.map((entry) => [entry.action, entry.actor, entry.tenantId])).toEqual([
      ['token.create', 'operator:bootstrap', tenantA],
      ['token.revoke', `token:${issued.id}`, tenantA],
    ]);
    expect(JSON.stringify(audit)).not.toContain(issued.token.split('.')[2]);
  });

  it('lets a viewer download samples only when its tenant allows it', async () => {
    const viewer = as(await issue(operator, { name: 'v', role: 'tenant-viewer', tenantId: tenantA }));
    const messageId = '01jz0000000000000000000000';
    await db.collection(COLLECTIONS.messages).insertOne({ _id: messageId as never, tenantId: tenantA });
    expectProblem(await viewer.get(`/v1/messages/${messageId}/raw`), 403, 'forbidden');
    expect((await operator.patch(`/v1/tenants/${tenantA}`, { viewerSamples: true })).status).toBe(200);
    // Past the access check: the record has no stored body, which the download reports as gone.
    const allowed = await viewer.get(`/v1/messages/${messageId}/raw`);
    expect([404, 410]).toContain(allowed.status);
    expect(allowed.status).not.toBe(403);
  });

  it('refuses to start without the bootstrap operator token', async () => {
    const setup = await relayTestConfig({ SER_ADMIN_TOKEN: undefined });
    try {
      await expect(
        startServices([adminService], setup.config, createLogger({ level: 'silent', pretty: false })),
      ).rejects.toThrow('SER_ADMIN_TOKEN: required by the admin service');
    } finally {
      rmSync(setup.dir, { recursive: true, force: true });
    }
  });
});
