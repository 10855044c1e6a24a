import { newMessageId } from '@ser/contracts';
import { COLLECTIONS, MessageRepository } from '@ser/data';
import { GridFsMessageStore } from '@ser/mongo';
import type { Db } from 'mongodb';
import { Readable } from 'node:stream';
import { ADMIN_CONTROLLERS } from '../src/admin.module';
import { adminRoutes } from '../src/openapi/routes';
import type { AdminRoute as Route } from '../src/openapi/routes';
import type { AdminClient, ApiResponse } from './admin-client';
import { expectProblem, startAdminFixture } from './admin-fixture';
import type { AdminFixture } from './admin-fixture';

type Objects = Record<
  'tenantId' | 'appId' | 'domainId' | 'keyId' | 'credentialId' | 'messageId' | 'tokenId' | 'address',
  string
>;

/** The path with this tenant's objects in it; a parameter the test does not know fails the test. */
function fill(path: string, objects: Objects): string {
  return path.replace(/:(\w+)/g, (_, name: string) => {
    const value = (objects as Record<string, string | undefined>)[name];
    if (value === undefined) {
      throw new Error(`the isolation test has no object for :${name} in ${path}; add one`);
    }
    return encodeURIComponent(value);
  });
}

const PERIOD = `from=${new Date(Date.now() - 86_400_000).toISOString().slice(0, 13)}:00:00Z&to=${new Date(Date.now() + 3_600_000).toISOString().slice(0, 13)}:00:00Z`;

/** Lists that answer the caller's own tenant: a tenant token sees only that one, whatever it asks. */
const OWN_LISTS = new Set(['GET /v1/tenants']);

/** Routes that name no object in their path name the tenant in the query (reports need a period). */
function query(route: Route, objects: Objects): string {
  if (route.path.includes(':') || OWN_LISTS.has(`${route.method} ${route.path}`)) {
    return '';
  }
  return `?tenantId=${objects.tenantId}${route.path.startsWith('/v1/reports/') ? `&${PERIOD}` : ''}`;
}

/** A body that would change something were the request let through. */
function body(route: Route): unknown {
  if (route.method === 'GET' || route.method === 'DELETE') {
    return undefined;
  }
  const bodies: Record<string, unknown> = {
    'PATCH /v1/tenants/:tenantId': { retentionDays: 1 },
    'PATCH /v1/applications/:appId': { name: 'taken over' },
    'POST /v1/tenants/:tenantId/domains': { name: 'stolen.test' },
    'POST /v1/tenants/:tenantId/applications': { name: 'intruder' },
    'POST /v1/tenants/:tenantId/suppressions': { address: 'victim@dest.test' },
    'POST /v1/domains/:domainId/dkim-keys': { algorithm: 'ed25519' },
    'POST /v1/tokens': { name: 'intruder', role: 'tenant-admin' },
    'POST /v1/tenants': { name: 'intruder' },
  };
  return bodies[`${route.method} ${route.path}`] ?? {};
}

describe('admin API: tenant isolation on every route (BOLA)', () => {
  let fixture: AdminFixture | undefined;
  let db: Db;
  let operator: AdminClient;
  let a: Objects;
  let b: Objects;
  let adminToken: string;
  let adminA: AdminClient;
  let viewerA: AdminClient;
  const routes = adminRoutes(ADMIN_CONTROLLERS);

  async function onboard(name: string): Promise<Objects> {
    const tenantId = (await operator.created('/v1/tenants', { name })).id;
    const domainId = (await operator.created(`/v1/tenants/${tenantId}/domains`, { name: `${name}.test` })).id;
    const keyId = (await operator.created(`/v1/domains/${domainId}/dkim-keys`, { algorithm: 'ed25519' })).id;
    const appId = (await operator.created(`/v1/tenants/${tenantId}/applications`, { name: 'billing' })).id;
    const credentialId = (await operator.created(`/v1/applications/${appId}/credentials`, {})).id;
    const tokenId = (await operator.created('/v1/tokens', { name: 'spare', role: 'tenant-viewer', tenantId }))
      .id;
    const address = `bounced@${name}-dest.test`;
    await operator.created(`/v1/tenants/${tenantId}/suppressions`, { address });
    const messageId = newMessageId(Date.now());
    const raw = Buffer.from(`From: app@${name}.test\r\nSubject: ${name} secret\r\n\r\nHi.\r\n`);
    await new GridFsMessageStore(db).put(messageId, Readable.from([raw]), {});
    const now = new Date();
    await new MessageRepository(db).create({
      _id: messageId,
      tenantId,
      appId,
      credentialId,
      envelope: { mailFrom: `app@${name}.test`, rcptTo: ['someone@dest.test'] },
      headerFrom: `app@${name}.test`,
      fromDomain: `${name}.test`,
      subject: `${name} secret`,
      size: raw.length,
      state: 'quarantined',
      client: { ip: '127.0.0.1', tls: true },
      createdAt: now,
      updatedAt: now,
      expiresAt: new Date(now.getTime() + 30 * 86_400_000),
    });
    return { tenantId, appId, domainId, keyId, credentialId, messageId, tokenId, address };
  }

  /** Tenant B's documents, to prove no refused request changed one. */
  async function snapshotOf(tenantId: string): Promise<string> {
    const names = [
      'tenants',
      'domains',
      'dkim_keys',
      'applications',
      'credentials',
      'suppressions',
      'messages',
    ];
    const docs = await Promise.all(
      names.map((name) =>
        db
          .collection(name)
          .find(name === 'tenants' ? { _id: tenantId as never } : { tenantId })
          .sort({ _id: 1 })
          .toArray(),
      ),
    );
    const tokens = await db
      .collection(COLLECTIONS.apiTokens)
      .find({ tenantId }, { projection: { lastUsedAt: 0 } })
      .sort({ _id: 1 })
      .toArray();
    return JSON.stringify([docs, tokens]);
  }

  const send = (client: AdminClient, route: Route, objects: Objects): Promise<ApiResponse<unknown>> =>
    client.request(route.method, `${fill(route.path, objects)}${query(route, objects)}`, body(route));

  beforeAll(async () => {
    fixture = await startAdminFixture();
    ({ db, api: operator } = fixture);
    a = await onboard('acme');
    b = await onboard('globex');
    const token = async (role: string) =>
      (await operator.created<{ token: string }>('/v1/tokens', { name: role, role, tenantId: a.tenantId }))
        .token;
    adminToken = await token('tenant-admin');
    adminA = operator.withToken(adminToken);
    viewerA = operator.withToken(await token('tenant-viewer'));
  });

  afterAll(async () => {
    await fixture?.stop();
  });

  it('knows every route and its access rule', () => {
    const table = routes.map((r) => `${r.method} ${r.path} ${r.rule.level}`);
    expect(table.length).toBeGreaterThanOrEqual(34);
    expect(table).toEqual(
      expect.arrayContaining(['GET /v1/reports/summary read', 'GET /v1/messages/:messageId/raw sample']),
    );
    // Public routes are the probes and the API's own documentation; nothing else is reachable without a token.
    expect(
      routes
        .filter((r) => r.rule.level === 'public')
        .map((r) => r.path)
        .sort(),
    ).toEqual(['/docs', '/docs/app.js', '/healthz', '/openapi.json', '/readyz']);
  });

  it('refuses every route without a token', async () => {
    for (const route of routes.filter((r) => r.rule.level !== 'public')) {
      const response = await send(operator.withToken(undefined), route, a);
      expect(`${route.method} ${route.path} ${response.status}`).toBe(`${route.method} ${route.path} 401`);
    }
  });

  it('never lets a token of tenant A read or change tenant B, on any route', async () => {
    const before = await snapshotOf(b.tenantId);
    for (const route of routes.filter((r) => r.rule.level !== 'public')) {
      for (const [who, client] of [
        ['admin', adminA],
        ['viewer', viewerA],
      ] as const) {
        const response = await send(client, route, b);
        const refused = OWN_LISTS.has(`${route.method} ${route.path}`)
          ? 200
          : route.rule.level === 'operator' || (who === 'viewer' && route.rule.level === 'manage')
            ? 403
            : 404;
        expect(`${who} ${route.method} ${route.path} ${response.status}`).toBe(
          `${who} ${route.method} ${route.path} ${refused}`,
        );
        const text = JSON.stringify(response.body);
        for (const id of Object.values(b)) {
          expect(text).not.toContain(id);
        }
        expect(text).not.toContain('globex');
      }
    }
    expect(await snapshotOf(b.tenantId)).toBe(before);
  });

  it('lets tenant A read its own objects on every read route (the refusals above are not blanket)', async () => {
    for (const route of routes.filter(
      (r) => r.method === 'GET' && ['read', 'manage'].includes(r.rule.level),
    )) {
      const response = await send(adminA, route, a);
      expect(`${route.method} ${route.path} ${response.status}`).toBe(`${route.method} ${route.path} 200`);
      if (route.rule.level === 'read') {
        const viewed = await send(viewerA, route, a);
        expect(`viewer ${route.path} ${viewed.status}`).toBe(`viewer ${route.path} 200`);
      }
    }
    const sample = await fetch(
      `http://127.0.0.1:${fixture?.config.SER_ADMIN_PORT ?? 0}/v1/messages/${a.messageId}/raw`,
      {
        headers: { authorization: `Bearer ${adminToken}` },
      },
    );
    expect(sample.status).toBe(200);
    expect(await sample.text()).toContain('acme secret');
  });

  it('never lets a viewer change anything, even in its own tenant', async () => {
    const before = await snapshotOf(a.tenantId);
    for (const route of routes.filter((r) => r.method !== 'GET' && r.rule.level !== 'public')) {
      const response = await send(viewerA, route, a);
      expect(`${route.method} ${route.path} ${response.status}`).toBe(`${route.method} ${route.path} 403`);
    }
    expect(await snapshotOf(a.tenantId)).toBe(before);
  });

  it('refuses injection payloads in ids and filters with 400 before any query, whoever asks', async () => {
    for (const client of [operator, adminA]) {
      for (const path of [
        `/v1/applications/${encodeURIComponent('{"$ne":null}')}/credentials`,
        `/v1/messages/${encodeURIComponent('{"$gt":""}')}`,
        '/v1/messages?tenantId[$ne]=x',
        `/v1/messages?tenantId=${a.tenantId}&appId[$regex]=.*`,
        `/v1/reports/summary?tenantId[]=${a.tenantId}&tenantId[]=${b.tenantId}&${PERIOD}`,
        `/v1/tenants/${a.tenantId}%00`,
        '/v1/audit?tenantId[$exists]=true',
      ]) {
        const response = await client.get(path);
        expect(`${path} ${response.status}`).toBe(`${path} 400`);
        const problem = expectProblem(response, 400, 'invalid-request');
        expect(problem.errors?.length).toBeGreaterThan(0);
      }
    }
  });

  it('confines filters that name objects: tenant A asking for its tenant with B’s application', async () => {
    expectProblem(
      await viewerA.get(`/v1/reports/summary?tenantId=${a.tenantId}&appId=${b.appId}&${PERIOD}`),
      404,
      'not-found',
    );
    expectProblem(
      await viewerA.get(`/v1/messages?tenantId=${a.tenantId}&messageId=${b.messageId}`),
      404,
      'not-found',
    );
  });
});
