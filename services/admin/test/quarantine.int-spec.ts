import type { RelayConfig } from '@ser/config';
import { jobIds, newMessageId } from '@ser/contracts';
import type { MessageState } from '@ser/contracts';
import { COLLECTIONS, MessageRepository } from '@ser/data';
import type { AuditDocument, MessageDocument } from '@ser/data';
import { createLogger } from '@ser/logger';
import { GridFsMessageStore } from '@ser/mongo';
import { QueueBus, startJobWorker } from '@ser/queue';
import { waitFor } from '@ser/testing';
import type { Db } from 'mongodb';
import { Readable } from 'node:stream';
import type { AdminClient } from './admin-client';
import { expectProblem, startAdminFixture } from './admin-fixture';
import type { AdminFixture } from './admin-fixture';

interface QuarantinePage {
  items: { id: string; state: string; reason?: string; [key: string]: unknown }[];
  nextCursor: string | null;
}

interface AuditView {
  id: string;
  at: string;
  actor: string;
  action: string;
  tenantId?: string;
  target: { type: string; id: string };
  details?: Record<string, unknown>;
}

/** Operator decisions on seeded messages; no scanner or signer runs, so the queued jobs stay put. */
describe('admin API: quarantine and held messages', () => {
  let fixture: AdminFixture | undefined;
  let config: RelayConfig;
  let db: Db;
  let api: AdminClient;
  let messages: MessageRepository;
  let store: GridFsMessageStore;
  let bus: QueueBus;

  beforeAll(async () => {
    fixture = await startAdminFixture();
    ({ config, db, api } = fixture);
    messages = new MessageRepository(db);
    store = new GridFsMessageStore(db);
    bus = new QueueBus(config.REDIS_URL, config.SER_QUEUE_PREFIX);
  });

  afterAll(async () => {
    await bus?.close();
    await fixture?.stop();
  });

  const newTenant = async () => (await api.created('/v1/tenants', { name: 'Acme' })).id;

  let clock = Date.now() - 3_600_000;
  /** A message record and its body; each one a second newer than the last, so ids sort by seeding order. */
  async function seed(
    tenantId: string,
    state: MessageState,
    extra: Partial<MessageDocument> = {},
  ): Promise<MessageDocument> {
    clock += 1000;
    const at = new Date(clock);
    const body = `Subject: invoice ${String(clock)}\r\n\r\nPay now.\r\n`;
    const message: MessageDocument = {
      _id: newMessageId(clock),
      tenantId,
      appId: 'app_test',
      credentialId: 'cred_test',
      envelope: { mailFrom: 'a@acme.test', rcptTo: ['b@dest.test'] },
      headerFrom: 'a@acme.test',
      fromDomain: 'acme.test',
      subject: `invoice ${String(clock)}`,
      size: body.length,
      state,
      client: { ip: '127.0.0.1', tls: true },
      createdAt: at,
      updatedAt: at,
      expiresAt: new Date(clock + 30 * 86_400_000),
      ...extra,
    };
    await store.put(message._id, Readable.from([Buffer.from(body)]), {});
    await messages.create(message);
    return message;
  }

  const auditFor = (messageId: string) =>
    db.collection<AuditDocument>(COLLECTIONS.audit).find({ 'target.id': messageId }).toArray();
  const eventJob = (id: string) => bus.queue('events').getJob(id);

  /** Runs the stage's job of the message through a throw-away worker until it is failed or completed. */
  async function finishedJob(stage: 'scan' | 'sign', messageId: string, outcome: 'failed' | 'completed') {
    const jobId = jobIds[stage](messageId);
    await bus.enqueue(stage, { v: 1, messageId }, jobId, { attempts: 1 });
    const worker = startJobWorker(
      stage,
      () => (outcome === 'failed' ? Promise.reject(new Error('engine unreachable')) : Promise.resolve()),
      {
        redisUrl: config.REDIS_URL,
        prefix: config.SER_QUEUE_PREFIX,
        concurrency: 1,
        logger: createLogger({ level: 'silent', pretty: false }),
      },
    );
    try {
      await waitFor(async () => (await bus.queue(stage).getJobState(jobId)) === outcome, {
        description: `${stage} job ${outcome}`,
      });
    } finally {
      await worker.close();
    }
  }

  it('requires the bearer token on every route', async () => {
    const anonymous = api.withToken(undefined);
    const id = newMessageId();
    expectProblem(await anonymous.get('/v1/quarantine?tenantId=ten_x'), 401, 'unauthorized');
    expectProblem(await anonymous.post(`/v1/messages/${id}/release`), 401, 'unauthorized');
    expectProblem(await anonymous.post(`/v1/messages/${id}/retry`), 401, 'unauthorized');
    expectProblem(await anonymous.request('DELETE', `/v1/messages/${id}`), 401, 'unauthorized');
    expectProblem(await anonymous.get('/v1/audit'), 401, 'unauthorized');
  });

  it('lists one tenant’s quarantined or held messages, newest first, a page at a time', async () => {
    const tenantId = await newTenant();
    const other = await newTenant();
    const scan = {
      decision: 'quarantine' as const,
      reasons: ['spam score 6 >= 5'],
      score: 6,
      engines: [],
      attachments: [],
      phishing: [],
    };
    const q1 = await seed(tenantId, 'quarantined', { scan });
    const q2 = await seed(tenantId, 'quarantined');
    const held = await seed(tenantId, 'held', { reason: 'av_unavailable' });
    const q3 = await seed(tenantId, 'quarantined');
    await seed(other, 'quarantined');
    await seed(tenantId, 'scanned');

    const all = await api.get<QuarantinePage>(`/v1/quarantine?tenantId=${tenantId}`);
    expect(all.status).toBe(200);
    expect(all.body.items.map((m) => m.id)).toEqual([q3._id, q2._id, q1._id]);
    expect(all.body.nextCursor).toBeNull();
    expect(all.body.items[2]).toEqual({
      id: q1._id,
      tenantId,
      appId: 'app_test',
      state: 'quarantined',
      headerFrom: 'a@acme.test',
      envelope: q1.envelope,
      subject: q1.subject,
      size: q1.size,
      createdAt: q1.createdAt.toISOString(),
      updatedAt: q1.updatedAt.toISOString(),
      scan,
    });

    const first = await api.get<QuarantinePage>(`/v1/quarantine?tenantId=${tenantId}&limit=2`);
    expect(first.body.items.map((m) => m.id)).toEqual([q3._id, q2._id]);
    expect(first.body.nextCursor).toBe(q2._id);
    const second = await api.get<QuarantinePage>(
      `/v1/quarantine?tenantId=${tenantId}&limit=2&cursor=${String(first.body.nextCursor)}`,
    );
    expect(second.body).toMatchObject({ items: [{ id: q1._id }], nextCursor: null });

    const holds = await api.get<QuarantinePage>(`/v1/quarantine?tenantId=${tenantId}&state=held`);
    expect(holds.body.items.map((m) => [m.id, m.state, m.reason])).toEqual([
      [held._id, 'held', 'av_unavailable'],
    ]);
  });

  it.each([
    ['no tenant', '', 'tenantId', 'Invalid input: expected string, received undefined'],
    ['another state', '&state=scanned', 'state', 'Invalid option: expected one of "quarantined"|"held"'],
    ['a limit over 200', '&limit=201', 'limit', 'Too big: expected number to be <=200'],
    ['a zero limit', '&limit=0', 'limit', 'Too small: expected number to be >=1'],
    ['a bad cursor', '&cursor=nope', 'cursor', 'not a message id'],
    ['an unknown parameter', '&sort=asc', '(query)', 'Unrecognized key: "sort"'],
  ])('refuses a list with %s (400)', async (_case, query, path, message) => {
    const tenantId = await newTenant();
    const tenant = query === '' ? '' : `tenantId=${tenantId}`;
    const problem = expectProblem(await api.get(`/v1/quarantine?${tenant}${query}`), 400, 'invalid-request');
    expect(problem.errors).toEqual([{ path, message }]);
  });

  it('answers 404 for an unknown tenant or message', async () => {
    expectProblem(await api.get('/v1/quarantine?tenantId=ten_unknown'), 404, 'not-found');
    const id = newMessageId();
    for (const response of [
      await api.post(`/v1/messages/${id}/release`),
      await api.post(`/v1/messages/${id}/retry`, {}),
      await api.request('DELETE', `/v1/messages/${id}`),
    ]) {
      expect(expectProblem(response, 404, 'not-found').detail).toBe('message not found');
    }
  });

  it('releases a quarantined message to signing once, with its job, event and audit entry', async () => {
    const tenantId = await newTenant();
    const message = await seed(tenantId, 'quarantined', { reason: 'spam score 6 >= 5' });
    const path = `/v1/messages/${message._id}/release`;

    const released = await api.post(path);
    expect(released.status).toBe(200);
    expect(released.body).toMatchObject({
      id: message._id,
      tenantId,
      state: 'scanned',
      previousState: 'quarantined',
      round: 1,
      operatorAction: { action: 'release', actor: 'operator:bootstrap' },
    });
    const stored = await messages.findById(message._id);
    expect(stored).toMatchObject({
      state: 'scanned',
      round: 1,
      operatorAction: { action: 'release', actor: 'operator:bootstrap' },
    });
    expect(stored?.operatorAction?.at).toBeInstanceOf(Date);

    const sign = await bus.queue('sign').getJob(jobIds.sign(message._id));
    expect(sign?.data).toEqual({ v: 1, messageId: message._id });
    const event = await eventJob(`${message._id}.released.r1`);
    expect(event?.data).toMatchObject({
      type: 'message.released',
      tenantId,
      messageId: message._id,
      data: { actor: 'operator:bootstrap', previousState: 'quarantined', reason: 'spam score 6 >= 5' },
    });
    const audit = await auditFor(message._id);
    expect(audit).toEqual([
      {
        _id: expect.stringMatching(/^aud_/) as unknown,
        at: expect.any(Date) as unknown,
        actor: 'operator:bootstrap',
        action: 'message.release',
        tenantId,
        target: { type: 'message', id: message._id },
        details: { previousState: 'quarantined', reason: 'spam score 6 >= 5', round: 1, stage: 'sign' },
      },
    ]);

    const again = expectProblem(await api.post(path, {}), 409, 'conflict');
    expect(again.detail).toContain('scanned');
    expect(await auditFor(message._id)).toHaveLength(1);
    expect(await eventJob(`${message._id}.released.r2`)).toBeUndefined();
    expect((await messages.findById(message._id))?.round).toBe(1);

    // The body of a decision takes no options.
    const other = await seed(tenantId, 'quarantined');
    const withOption = expectProblem(
      await api.post(`/v1/messages/${other._id}/release`, { force: true }),
      400,
      'invalid-request',
    );
    expect(withOption.errors).toEqual([{ path: '(body)', message: 'Unrecognized key: "force"' }]);
    expect((await messages.findById(other._id))?.state).toBe('quarantined');
  });

  it('counts rounds on: a message released in round 1 gets round 2', async () => {
    const tenantId = await newTenant();
    const message = await seed(tenantId, 'quarantined', { round: 1 });
    const released = await api.post(`/v1/messages/${message._id}/release`);
    expect(released.body).toMatchObject({ state: 'scanned', round: 2 });
    expect(await eventJob(`${message._id}.released.r2`)).toBeDefined();
  });

  it('retries a held av_unavailable message with a new scan job, replacing the failed one', async () => {
    const tenantId = await newTenant();
    const message = await seed(tenantId, 'held', { reason: 'av_unavailable' });
    const jobId = jobIds.scan(message._id);
    await finishedJob('scan', message._id, 'failed');

    expectProblem(await api.post(`/v1/messages/${message._id}/release`, { x: 1 }), 400, 'invalid-request');
    const retried = await api.post(`/v1/messages/${message._id}/retry`);
    expect(retried.status).toBe(200);
    expect(retried.body).toMatchObject({ state: 'accepted', previousState: 'held', round: 1 });
    expect(await messages.findById(message._id)).toMatchObject({
      state: 'accepted',
      round: 1,
      operatorAction: { action: 'retry', actor: 'operator:bootstrap' },
    });
    // A new job, not the failed one: BullMQ would have kept the old one and ignored the add().
    const job = await bus.queue('scan').getJob(jobId);
    expect(await job?.getState()).toBe('waiting');
    expect(job?.opts.attempts).toBe(8);
    expect(await bus.queue('sign').getJob(jobIds.sign(message._id))).toBeUndefined();
    expect((await eventJob(`${message._id}.retried.r1`))?.data).toMatchObject({
      type: 'message.retried',
      data: { actor: 'operator:bootstrap', previousState: 'held', reason: 'av_unavailable', stage: 'scan' },
    });
    expect((await auditFor(message._id)).map((a) => [a.action, a.details])).toEqual([
      ['message.retry', { previousState: 'held', reason: 'av_unavailable', round: 1, stage: 'scan' }],
    ]);

    expectProblem(await api.post(`/v1/messages/${message._id}/retry`), 409, 'conflict');
    expect(await auditFor(message._id)).toHaveLength(1);
  });

  it('retries a held dkim_key_missing message with a new sign job, and release of a held message is a retry', async () => {
    const tenantId = await newTenant();
    const message = await seed(tenantId, 'held', { reason: 'dkim_key_missing' });
    await finishedJob('sign', message._id, 'completed');

    const retried = await api.post(`/v1/messages/${message._id}/release`);
    expect(retried.body).toMatchObject({ state: 'scanned', previousState: 'held', round: 1 });
    const job = await bus.queue('sign').getJob(jobIds.sign(message._id));
    expect(await job?.getState()).toBe('waiting');
    expect(await bus.queue('scan').getJob(jobIds.scan(message._id))).toBeUndefined();
    expect((await eventJob(`${message._id}.retried.r1`))?.data).toMatchObject({
      data: { reason: 'dkim_key_missing', stage: 'sign' },
    });
    expect(await eventJob(`${message._id}.released.r1`)).toBeUndefined();
    expect((await auditFor(message._id)).map((a) => a.action)).toEqual(['message.retry']);
  });

  it('refuses a retry while the old job is still running, and changes nothing', async () => {
    const tenantId = await newTenant();
    const message = await seed(tenantId, 'held', { reason: 'av_unavailable' });
    const jobId = jobIds.scan(message._id);
    await bus.enqueue('scan', { v: 1, messageId: message._id }, jobId, { attempts: 1 });
    let finish = (): void => undefined;
    const running = new Promise<void>((resolve) => {
      finish = resolve;
    });
    // Other tests' waiting scan jobs go through at once; this one stays active until `finish()`.
    const worker = startJobWorker(
      'scan',
      (job) => (job.messageId === message._id ? running : Promise.resolve()),
      {
        redisUrl: config.REDIS_URL,
        prefix: config.SER_QUEUE_PREFIX,
        concurrency: 1,
        logger: createLogger({ level: 'silent', pretty: false }),
      },
    );
    try {
      await waitFor(async () => (await bus.queue('scan').getJobState(jobId)) === 'active');
      const busy = expectProblem(await api.post(`/v1/messages/${message._id}/retry`), 409, 'conflict');
      expect(busy.detail).toContain('still running');
      expect(await messages.findById(message._id)).toMatchObject({ state: 'held' });
      expect(await auditFor(message._id)).toHaveLength(0);
    } finally {
      finish();
      await worker.close();
    }
    expect((await api.post(`/v1/messages/${message._id}/retry`)).status).toBe(200);
  });

  it('refuses release and retry in any other state (409, naming the state)', async () => {
    const tenantId = await newTenant();
    const quarantined = await seed(tenantId, 'quarantined');
    const retry = expectProblem(await api.post(`/v1/messages/${quarantined._id}/retry`), 409, 'conflict');
    expect(retry.detail).toContain('quarantined');
    for (const state of ['accepted', 'signed', 'rejected_spam', 'deleted'] as const) {
      const message = await seed(tenantId, state);
      const release = expectProblem(await api.post(`/v1/messages/${message._id}/release`), 409, 'conflict');
      expect(release.detail).toContain(state);
      expectProblem(await api.post(`/v1/messages/${message._id}/retry`), 409, 'conflict');
      expect((await messages.findById(message._id))?.state).toBe(state);
      expect(await auditFor(message._id)).toHaveLength(0);
    }
    expect((await messages.findById(quarantined._id))?.state).toBe('quarantined');
  });

  it('deletes a quarantined, held or rejected message and its body, once', async () => {
    const tenantId = await newTenant();
    for (const state of ['quarantined', 'held', 'rejected_av', 'rejected_spam', 'rejected_policy'] as const) {
      const message = await seed(tenantId, state, { reason: `${state} reason` });
      expect(await store.exists(message._id)).toBe(true);
      const deleted = await api.request('DELETE', `/v1/messages/${message._id}`);
      expect(deleted.status).toBe(204);
      expect(await store.exists(message._id)).toBe(false);
      expect(await messages.findById(message._id)).toMatchObject({
        state: 'deleted',
        operatorAction: { action: 'delete', actor: 'operator:bootstrap' },
      });
      expect((await eventJob(`${message._id}.deleted`))?.data).toMatchObject({
        type: 'message.deleted',
        data: { actor: 'operator:bootstrap', previousState: state, reason: `${state} reason` },
      });
      expect((await auditFor(message._id)).map((a) => [a.action, a.details])).toEqual([
        ['message.delete', { previousState: state, reason: `${state} reason`, round: 0 }],
      ]);
      expectProblem(await api.request('DELETE', `/v1/messages/${message._id}`), 409, 'conflict');
      expect(await auditFor(message._id)).toHaveLength(1);
    }

    const scanned = await seed(tenantId, 'scanned');
    const refused = expectProblem(
      await api.request('DELETE', `/v1/messages/${scanned._id}`),
      409,
      'conflict',
    );
    expect(refused.detail).toContain('scanned');
    expect(await store.exists(scanned._id)).toBe(true);
    expect((await messages.findById(scanned._id))?.state).toBe('scanned');
  });

  it('lists audit entries newest first, by tenant and time range', async () => {
    const tenantId = await newTenant();
    const other = await newTenant();
    const first = await seed(tenantId, 'quarantined');
    const second = await seed(tenantId, 'held', { reason: 'dkim_key_missing' });
    const third = await seed(other, 'rejected_spam');
    const start = new Date();
    await api.post(`/v1/messages/${first._id}/release`);
    await api.post(`/v1/messages/${second._id}/retry`);
    await api.request('DELETE', `/v1/messages/${third._id}`);

    const list = await api.get<{ items: AuditView[] }>(`/v1/audit?tenantId=${tenantId}`);
    expect(list.status).toBe(200);
    // The decisions, between the `api.call` entries every call leaves (api-hardening.int-spec.ts).
    const decisions = (page: { items: AuditView[] }) =>
      page.items.filter((a) => !a.action.startsWith('api.'));
    expect(decisions(list.body).map((a) => [a.action, a.target.id])).toEqual([
      ['message.retry', second._id],
      ['message.release', first._id],
    ]);
    expect(decisions(list.body)[0]).toMatchObject({
      actor: 'operator:bootstrap',
      tenantId,
      id: expect.stringMatching(/^aud_/) as unknown,
    });

    const all = await api.get<{ items: AuditView[] }>(
      `/v1/audit?from=${encodeURIComponent(start.toISOString())}`,
    );
    expect(
      decisions(all.body)
        .slice(0, 3)
        .map((a) => a.target.id),
    ).toEqual([third._id, second._id, first._id]);
    const at = decisions(list.body)[1]?.at ?? '';
    const until = await api.get<{ items: AuditView[] }>(
      `/v1/audit?tenantId=${tenantId}&from=${encodeURIComponent(start.toISOString())}&to=${encodeURIComponent(at)}`,
    );
    expect(decisions(until.body).map((a) => a.target.id)).toEqual([first._id]);

    const bad = expectProblem(await api.get('/v1/audit?from=yesterday'), 400, 'invalid-request');
    expect(bad.errors).toEqual([
      { path: 'from', message: 'expected an ISO 8601 date-time with Z or an offset' },
    ]);
    const reversed = expectProblem(
      await api.get('/v1/audit?from=2030-01-02T00:00:00Z&to=2030-01-01T00:00:00Z'),
      400,
      'invalid-request',
    );
    expect(reversed.errors).toEqual([{ path: 'from', message: 'must not be after to' }]);
    expectProblem(await api.get('/v1/audit?actor=me'), 400, 'invalid-request');
  });
});
