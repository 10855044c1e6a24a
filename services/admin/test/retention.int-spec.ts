import type { RelayConfig } from '@ser/config';
import { newMessageId } from '@ser/contracts';
import type { MessageState } from '@ser/contracts';
import { AuditRepository, COLLECTIONS, MessageRepository, TenantConfigRepository } from '@ser/data';
import type { EventDocument, MessageDocument } from '@ser/data';
import { createLogger } from '@ser/logger';
import { GridFsMessageStore } from '@ser/mongo';
import type { Db } from 'mongodb';
import { Readable } from 'node:stream';
import { MessageTombstoneRepository } from '../src/retention/message-tombstone.repository';
import type { MessageTombstoneDocument } from '../src/retention/message-tombstone.repository';
import { RetentionService } from '../src/retention/retention.service';
import type { AdminClient } from './admin-client';
import { expectProblem, startAdminFixture } from './admin-fixture';
import type { AdminFixture } from './admin-fixture';

const DAY = 86_400_000;

/** Retention against the real admin service; the job runs as separate instances (replicas) on the same stores. */
describe('admin: retention of messages and samples', () => {
  let fixture: AdminFixture | undefined;
  let config: RelayConfig;
  let db: Db;
  let api: AdminClient;
  let messages: MessageRepository;
  let store: GridFsMessageStore;
  const replicas: RetentionService[] = [];

  beforeAll(async () => {
    fixture = await startAdminFixture();
    ({ config, db, api } = fixture);
    messages = new MessageRepository(db);
    store = new GridFsMessageStore(db);
  });

  afterAll(async () => {
    for (const replica of replicas) {
      await replica.onApplicationShutdown();
    }
    await fixture?.stop();
  });

  /** Another admin replica's retention job. */
  function replica(): RetentionService {
    const service = new RetentionService(
      config,
      createLogger({ level: 'silent', pretty: false }),
      store,
      messages,
      new TenantConfigRepository(db),
      new MessageTombstoneRepository(db),
      new AuditRepository(db),
    );
    replicas.push(service);
    return service;
  }

  const newTenant = async () => (await api.created('/v1/tenants', { name: 'Acme' })).id;

  async function seed(
    tenantId: string,
    ageDays: number,
    state: MessageState = 'delivered',
  ): Promise<MessageDocument> {
    const created = Date.now() - ageDays * DAY - Math.floor(Math.random() * 60_000);
    const body = Buffer.from(`Subject: old news\r\n\r\n${String(created)}\r\n`);
    const message: MessageDocument = {
      _id: newMessageId(created),
      tenantId,
      appId: 'app_000000000000000000000001',
      credentialId: 'cred_test',
      envelope: { mailFrom: 'a@acme.test', rcptTo: ['b@dest.test', 'c@dest.test'] },
      headerFrom: 'a@acme.test',
      fromDomain: 'acme.test',
      subject: 'old news',
      size: body.length,
      state,
      client: { ip: '127.0.0.1', tls: true },
      createdAt: new Date(created),
      updatedAt: new Date(created),
      expiresAt: new Date(created + 30 * DAY),
    };
    await store.put(message._id, Readable.from([body]), {});
    await messages.create(message);
    await db.collection<EventDocument>(COLLECTIONS.events).insertOne({
      _id: `${message._id}.accepted`,
      v: 1,
      type: 'message.accepted',
      at: message.createdAt,
      tenantId,
      messageId: message._id,
      data: {},
    });
    return message;
  }

  const rawStatus = async (messageId: string) =>
    (
      await fetch(`http://127.0.0.1:${String(config.SER_ADMIN_PORT)}/v1/messages/${messageId}/raw`, {
        headers: { authorization: `Bearer ${fixture!.setup.adminToken}` },
      })
    ).status;
  const searchIds = async (tenantId: string) =>
    (
      await api.get<{ items: { id: string }[] }>(`/v1/messages?tenantId=${tenantId}&limit=200`)
    ).body.items.map((i) => i.id);
  const tombstones = () => db.collection<MessageTombstoneDocument>('message_tombstones');

  it('validates the tenant’s retentionDays (1–365 whole days; null restores 30)', async () => {
    const tenantId = await newTenant();
    for (const retentionDays of [0, 366, 1.5, '30', -1]) {
      expectProblem(await api.patch(`/v1/tenants/${tenantId}`, { retentionDays }), 400, 'invalid-request');
    }
    const set = await api.patch(`/v1/tenants/${tenantId}`, { retentionDays: 365 });
    expect(set.status).toBe(200);
    expect(set.body).toMatchObject({ retentionDays: 365 });
    const reset = await api.patch(`/v1/tenants/${tenantId}`, { retentionDays: null });
    expect(reset.status).toBe(200);
    expect(reset.body).not.toHaveProperty('retentionDays');
  });

  it('deletes record, recipients and body past retention, leaves a tombstone (410), keeps the rest', async () => {
    const tenantA = await newTenant();
    const tenantB = await newTenant();
    expect((await api.patch(`/v1/tenants/${tenantB}`, { retentionDays: 60 })).status).toBe(200);
    const old = await seed(tenantA, 31);
    const recent = await seed(tenantA, 1);
    const stillDelivering = await seed(tenantA, 31, 'delivering');
    const longerKept = await seed(tenantB, 31);
    const pastB = await seed(tenantB, 61, 'bounced');

    // Past retention already answers 410, before the job has run.
    expect(await rawStatus(old._id)).toBe(410);
    expect(await rawStatus(recent._id)).toBe(200);

    const [first, second] = await Promise.all([replica().purge(), replica().purge()]);
    expect(first.deleted + second.deleted).toBe(2);

    for (const gone of [old, pastB]) {
      expect(await messages.findById(gone._id)).toBeNull();
      expect(await messages.recipientsFor(gone._id)).toEqual([]);
      expect(await store.exists(gone._id)).toBe(false);
      expect(await rawStatus(gone._id)).toBe(410);
      expectProblem(await api.get(`/v1/messages/${gone._id}`), 410, 'gone');
      expect(await tombstones().findOne({ _id: gone._id })).toMatchObject({
        tenantId: gone.tenantId,
        createdAt: gone.createdAt,
      });
      // Raw events stay: statistics are rebuilt from them.
      expect(await db.collection(COLLECTIONS.events).countDocuments({ messageId: gone._id })).toBe(1);
    }
    expect(await searchIds(tenantA)).toEqual([recent._id, stillDelivering._id]);
    expect(await searchIds(tenantB)).toEqual([longerKept._id]);
    for (const kept of [recent, stillDelivering, longerKept]) {
      expect(await store.exists(kept._id)).toBe(true);
      expect(await messages.recipientsFor(kept._id)).toHaveLength(2);
    }
    expect(await rawStatus(recent._id)).toBe(200);
    const kept = await api.get<{ status: string; state: string; timeline: unknown[] }>(
      `/v1/messages/${recent._id}`,
    );
    expect(kept.status).toBe(200);
    // The contract's `status` (and `state`, the same) and a timeline of events.
    expect(kept.body).toMatchObject({
      status: recent.state,
      state: recent.state,
      timeline: expect.any(Array) as unknown,
    });
    expect(await tombstones().countDocuments({ pending: true })).toBe(0);
  });

  it('is safe with replicas running at once: each message deleted once, no error', async () => {
    const tenantId = await newTenant();
    const old: MessageDocument[] = [];
    for (let i = 0; i < 40; i += 1) {
      old.push(await seed(tenantId, 40));
    }
    const results = await Promise.all([replica().purge(), replica().purge(), replica().purge()]);
    expect(results.reduce((sum, r) => sum + r.deleted, 0)).toBe(40);
    expect(await searchIds(tenantId)).toEqual([]);
    for (const message of old) {
      expect(await store.exists(message._id)).toBe(false);
    }
    expect(await db.collection(COLLECTIONS.recipients).countDocuments({ tenantId })).toBe(0);
    expect(await tombstones().countDocuments({ tenantId, pending: { $exists: false } })).toBe(40);
  });

  it('takes turns through the Redis lock', async () => {
    const runs = await Promise.all([replica().purgeIfOurTurn(), replica().purgeIfOurTurn()]);
    expect(runs.filter((r) => r !== undefined)).toHaveLength(1);
  });

  it('finishes a removal a crashed run left half done', async () => {
    const tenantId = await newTenant();
    const message = await seed(tenantId, 35);
    // The run died after the tombstone and the record, before the recipients and the body.
    await new MessageTombstoneRepository(db).begin(message, new Date());
    await messages.messages.deleteOne({ _id: message._id });
    const result = await replica().purge();
    expect(result.resumed).toBeGreaterThanOrEqual(1);
    expect(await store.exists(message._id)).toBe(false);
    expect(await messages.recipientsFor(message._id)).toEqual([]);
    expect(await tombstones().findOne({ _id: message._id })).not.toHaveProperty('pending');
    expect(await rawStatus(message._id)).toBe(410);
  });

  it('keeps going in rounds while a tenant has more than a round, fair to the others, until its time is up', async () => {
    const big = await newTenant();
    const small = await newTenant();
    for (let i = 0; i < 7; i += 1) {
      await seed(big, 40);
    }
    for (let i = 0; i < 3; i += 1) {
      await seed(small, 40);
    }
    // A round is one batch of 2 per tenant. With no time left after the first round, each tenant
    // got its share and both are reported unfinished.
    const hurried = replica();
    hurried.limits = { batch: 2, batches: 1, runBudgetMs: 0 };
    const first = await hurried.purge();
    expect(first.unfinishedTenants).toBeGreaterThanOrEqual(2);
    expect(await searchIds(big)).toHaveLength(5);
    expect(await searchIds(small)).toHaveLength(1);

    const patient = replica();
    patient.limits = { batch: 2, batches: 1, runBudgetMs: 60_000 };
    const second = await patient.purge();
    expect(second.unfinishedTenants).toBe(0);
    expect(await searchIds(big)).toEqual([]);
    expect(await searchIds(small)).toEqual([]);
  });

  it('forgets audit entries older than SER_ADMIN_AUDIT_RETENTION_DAYS, and only those', async () => {
    const audit = new AuditRepository(db);
    const days = config.SER_ADMIN_AUDIT_RETENTION_DAYS;
    const target = { type: 'route', id: 'GET /v1/retention-test' };
    const old = await audit.record({
      actor: 'test',
      action: 'api.call',
      target,
      at: new Date(Date.now() - (days + 1) * DAY),
    });
    const young = await audit.record({
      actor: 'test',
      action: 'api.call',
      target,
      at: new Date(Date.now() - (days - 1) * DAY),
    });

    const result = await replica().purge();

    expect(result.auditEntriesDeleted).toBeGreaterThanOrEqual(1);
    expect(await audit.audit.findOne({ _id: old._id })).toBeNull();
    expect(await audit.audit.findOne({ _id: young._id })).not.toBeNull();
  });
});
