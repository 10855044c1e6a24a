import { newMessageId } from '@ser/contracts';
import { COLLECTIONS, MessageRepository } from '@ser/data';
import type { AuditDocument } from '@ser/data';
import { GridFsMessageStore } from '@ser/mongo';
import { Readable } from 'node:stream';
import type { AdminClient } from './admin-client';
import { expectProblem, startAdminFixture } from './admin-fixture';
import type { AdminFixture } from './admin-fixture';

describe('admin API: audit of every call that changes something, headers, limits', () => {
  let fixture: AdminFixture | undefined;
  let api: AdminClient;
  const LIMIT = 40;

  beforeAll(async () => {
    fixture = await startAdminFixture({ SER_ADMIN_RATE_LIMIT_PER_MINUTE: String(LIMIT) });
    ({ api } = fixture);
  });

  afterAll(async () => {
    await fixture?.stop();
  });

  const tokenFor = async (tenantId: string, role = 'tenant-admin') =>
    (await api.created<{ id: string; token: string }>('/v1/tokens', { name: role, role, tenantId })).token;
  const auditOf = (filter: Record<string, unknown>) =>
    fixture?.db.collection<AuditDocument>(COLLECTIONS.audit).find(filter).sort({ at: 1, _id: 1 }).toArray() ??
    [];

  it('records each mutating call with who, what, when, from which address and how it ended', async () => {
    const tenantId = (await api.created('/v1/tenants', { name: 'Audited' })).id;
    const token = await tokenFor(tenantId);
    const tokenId = token.split('.')[1] ?? '';
    const admin = api.withToken(token);
    const started = new Date(Date.now() - 1000);
    const app = await admin.created(`/v1/tenants/${tenantId}/applications`, { name: 'billing' });
    expectProblem(
      await admin.patch(`/v1/applications/${app.id}`, { status: 'sideways' }),
      400,
      'invalid-request',
    );
    await admin.request(
      'DELETE',
      `/v1/credentials/${(await admin.created(`/v1/applications/${app.id}/credentials`, {})).id}`,
    );

    const calls = await auditOf({ actor: `token:${tokenId}`, action: 'api.call' });
    expect(calls.map((c) => [c.target.id, c.details?.['status']])).toEqual([
      ['POST /v1/tenants/:tenantId/applications', 201],
      ['PATCH /v1/applications/:appId', 400],
      ['POST /v1/applications/:appId/credentials', 201],
      ['DELETE /v1/credentials/:credentialId', 200],
    ]);
    for (const call of calls) {
      expect(call).toMatchObject({ tenantId, address: expect.stringMatching(/127\.0\.0\.1$/) as unknown });
      expect(call.at.getTime()).toBeGreaterThanOrEqual(started.getTime());
    }
    expect(calls[1]?.details?.['params']).toEqual({ appId: app.id });
    // The credential's password never reaches the audit log.
    expect(JSON.stringify(calls)).not.toMatch(/password/i);
  });

  it('records refused attempts on another tenant, and sample downloads', async () => {
    const mine = (await api.created('/v1/tenants', { name: 'Mine' })).id;
    const theirs = (await api.created('/v1/tenants', { name: 'Theirs' })).id;
    const theirApp = (await api.created(`/v1/tenants/${theirs}/applications`, { name: 'x' })).id;
    const token = await tokenFor(mine);
    const intruder = api.withToken(token);
    expectProblem(
      await intruder.patch(`/v1/applications/${theirApp}`, { name: 'mine now' }),
      404,
      'not-found',
    );
    const denied = await auditOf({ actor: `token:${token.split('.')[1] ?? ''}`, action: 'api.denied' });
    expect(denied).toEqual([
      expect.objectContaining({
        tenantId: mine,
        target: { type: 'route', id: 'PATCH /v1/applications/:appId' },
        details: expect.objectContaining({ status: 404, params: { appId: theirApp } }) as unknown,
      }),
    ]);

    const messageId = newMessageId(Date.now());
    const raw = Buffer.from('Subject: sample\r\n\r\nHi.\r\n');
    const db = fixture?.db;
    if (db === undefined) {
      throw new Error('no fixture');
    }
    await new GridFsMessageStore(db).put(messageId, Readable.from([raw]), {});
    const now = new Date();
    await new MessageRepository(db).create({
      _id: messageId,
      tenantId: mine,
      appId: 'app_000000000000000000000001',
      credentialId: 'cred_test',
      envelope: { mailFrom: 'a@mine.test', rcptTo: ['b@dest.test'] },
      headerFrom: 'a@mine.test',
      fromDomain: 'mine.test',
      size: raw.length,
      state: 'delivered',
      client: { ip: '127.0.0.1', tls: true },
      createdAt: now,
      updatedAt: now,
      expiresAt: new Date(now.getTime() + 86_400_000),
    });
    const download = await fetch(
      `http://127.0.0.1:${fixture?.config.SER_ADMIN_PORT ?? 0}/v1/messages/${messageId}/raw`,
      {
        headers: { authorization: `Bearer ${token}` },
      },
    );
    expect(download.status).toBe(200);
    await download.arrayBuffer();
    // Audited by the download itself, before the first byte (calls that only read leave no api.call).
    expect(await auditOf({ 'target.id': 'GET /v1/messages/:messageId/raw' })).toEqual([]);
    const downloads = await auditOf({ action: 'message.download', 'target.id': messageId });
    expect(downloads).toEqual([
      expect.objectContaining({
        actor: `token:${token.split('.')[1] ?? ''}`,
        tenantId: mine,
        address: expect.stringMatching(/127\.0\.0\.1$/) as unknown,
      }),
    ]);
  });

  it('refuses fields a caller may not set (no mass assignment): tenant, ids, status of new objects', async () => {
    const mine = (await api.created('/v1/tenants', { name: 'Mine' })).id;
    const theirs = (await api.created('/v1/tenants', { name: 'Theirs' })).id;
    const admin = api.withToken(await tokenFor(mine));
    const app = await admin.created(`/v1/tenants/${mine}/applications`, { name: 'billing' });
    for (const [path, body] of [
      [`/v1/tenants/${mine}/applications`, { name: 'x', tenantId: theirs }],
      [`/v1/tenants/${mine}/applications`, { name: 'x', _id: 'app_mine' }],
      [`/v1/tenants/${mine}/domains`, { name: 'x.example', verifiedAt: new Date().toISOString() }],
      [`/v1/applications/${app.id}/credentials`, { username: 'chosen', secretHash: 'x' }],
      ['/v1/tokens', { name: 'x', role: 'tenant-admin', createdBy: 'operator:bootstrap' }],
    ] as const) {
      const problem = expectProblem(await admin.post(path, body), 400, 'invalid-request');
      expect(`${path} ${JSON.stringify(problem.errors)}`).toMatch(/Unrecognized key/);
    }
    for (const patch of [{ tenantId: theirs }, { id: 'app_other' }, { createdAt: '2020-01-01T00:00:00Z' }]) {
      expectProblem(await admin.patch(`/v1/applications/${app.id}`, patch), 400, 'invalid-request');
    }
    const after = await api.get<{ tenantId: string; name: string }>(`/v1/applications/${app.id}`);
    expect(after.body).toMatchObject({ tenantId: mine, name: 'billing' });
  });

  it('sends security headers on answers and errors alike, and refuses oversized bodies', async () => {
    for (const response of [
      await fetch(`http://127.0.0.1:${fixture?.config.SER_ADMIN_PORT ?? 0}/healthz`),
      await fetch(`http://127.0.0.1:${fixture?.config.SER_ADMIN_PORT ?? 0}/v1/tenants`),
    ]) {
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
      expect(response.headers.get('content-security-policy')).toContain("default-src 'none'");
      expect(response.headers.get('cache-control')).toBe('no-store');
      expect(response.headers.get('x-powered-by')).toBeNull();
      await response.arrayBuffer();
    }
    const huge = await api.post('/v1/tenants', { name: 'x'.repeat(200_000) });
    expect(huge.status).toBe(413);
  });

  it('limits requests per token and per address without a valid token, answering 429 with Retry-After', async () => {
    const tenantId = (await api.created('/v1/tenants', { name: 'Busy' })).id;
    const busy = api.withToken(await tokenFor(tenantId, 'tenant-viewer'));
    const calm = api.withToken(await tokenFor(tenantId, 'tenant-viewer'));
    // Twice the limit: whichever minute boundary falls inside, one window holds more than the limit.
    const statuses: number[] = [];
    for (let i = 0; i < LIMIT * 2; i += 1) {
      const response = await busy.get(`/v1/tenants/${tenantId}`);
      statuses.push(response.status);
      if (response.status === 429) {
        expectProblem(response, 429, 'rate-limited');
      }
    }
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(LIMIT);
    expect((await calm.get(`/v1/tenants/${tenantId}`)).status).toBe(200);

    const anonymous: number[] = [];
    for (let i = 0; i < LIMIT * 2; i += 1) {
      const limited = await fetch(
        `http://127.0.0.1:${fixture?.config.SER_ADMIN_PORT ?? 0}/v1/tenants/${tenantId}`,
        {
          headers: { authorization: 'Bearer nonsense' },
        },
      );
      anonymous.push(limited.status);
      if (limited.status === 429) {
        expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
        expect(Number(limited.headers.get('retry-after'))).toBeLessThanOrEqual(60);
      }
      await limited.arrayBuffer();
    }
    expect(anonymous).toContain(429);
    expect(anonymous).toContain(401);
  });
});
