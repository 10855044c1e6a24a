import { jobIds, newMessageId } from '@ser/contracts';
import type { MessageState } from '@ser/contracts';
import { MessageRepository } from '@ser/data';
import { createLogger } from '@ser/logger';
import { GridFsMessageStore } from '@ser/mongo';
import type { MongoConnection } from '@ser/mongo';
import { QueueBus } from '@ser/queue';
import { startServices } from '@ser/runtime';
import type { RunningServices } from '@ser/runtime';
import { connectTestDatabase, relayTestConfig, testMail, waitFor } from '@ser/testing';
import { Readable } from 'node:stream';
import { scannerService } from '../src/index';
import { ScanJobReconciler } from '../src/jobs/scan-job-reconciler';

/** Invariant 2 for the scan stage: a message waiting in `accepted` whose job Redis lost is scanned. */
describe('scan job reconciler', () => {
  let running: RunningServices;
  let mongo: MongoConnection;
  let bus: QueueBus;
  let messages: MessageRepository;
  let reconciler: ScanJobReconciler;

  beforeAll(async () => {
    const { config } = await relayTestConfig({ SER_SPAMSCANNER_ENABLED: 'false', SER_SPAMD_HOST: undefined });
    running = await startServices(
      [scannerService],
      config,
      createLogger({ level: config.SER_LOG_LEVEL, pretty: false }),
    );
    mongo = await connectTestDatabase('scan-job-reconciler', config.mongoDb);
    bus = new QueueBus(config.REDIS_URL, config.SER_QUEUE_PREFIX);
    messages = new MessageRepository(mongo.db);
    const found = running.contexts.get('scanner')?.get(ScanJobReconciler);
    if (found === undefined) {
      throw new Error('the scanner has no ScanJobReconciler');
    }
    reconciler = found;
  });

  afterAll(async () => {
    await running?.stop();
    await bus?.close();
    await mongo?.db.dropDatabase();
    await mongo?.close();
  });

  /** A stored message in `state`, last changed at `updatedAt`, with no job. */
  async function waiting(state: MessageState, updatedAt: Date): Promise<string> {
    const id = newMessageId();
    const body = Buffer.from(testMail({ from: 'a@acme.test', subject: 'Alarm', text: 'Door open.' }));
    await new GridFsMessageStore(mongo.db).put(id, Readable.from([body]), {});
    await messages.create({
      _id: id,
      tenantId: 'ten_test',
      appId: 'app_test',
      credentialId: 'cred_test',
      envelope: { mailFrom: 'a@acme.test', rcptTo: ['b@dest.test'] },
      headerFrom: 'a@acme.test',
      fromDomain: 'acme.test',
      size: body.length,
      state,
      client: { ip: '127.0.0.1', tls: true },
      createdAt: updatedAt,
      updatedAt,
      expiresAt: new Date(Date.now() + 86_400_000),
    });
    return id;
  }

  it('queues the scan job again for accepted messages that waited past the grace period without one', async () => {
    const longAgo = new Date(Date.now() - 3_600_000);
    const lost = await waiting('accepted', longAgo);
    const recent = await waiting('accepted', new Date());
    // Never promised to a client (the ingress sweeper's business), and already past the stage.
    const receiving = await waiting('receiving', longAgo);
    const scanned = await waiting('scanned', longAgo);

    const result = await reconciler.reconcile();

    expect(result).toEqual({ checked: 1, requeued: 1 });
    const after = await waitFor(async () => {
      const m = await messages.findById(lost);
      return m?.state === 'accepted' ? undefined : m;
    });
    expect(after).toMatchObject({ state: 'scanned', av: { result: 'clean' } });
    for (const [id, state] of [
      [recent, 'accepted'],
      [receiving, 'receiving'],
      [scanned, 'scanned'],
    ] as const) {
      expect((await messages.findById(id))?.state).toBe(state);
      expect(await bus.queue('scan').getJob(jobIds.scan(id))).toBeUndefined();
    }
  });

  it('leaves a message alone while its job is alive, and replaces a finished job that left it waiting', async () => {
    const longAgo = new Date(Date.now() - 3_600_000);
    const delayed = await waiting('accepted', longAgo);
    await bus.enqueue('scan', { v: 1, messageId: delayed }, jobIds.scan(delayed), { delay: 60_000 });
    const stuck = await waiting('accepted', longAgo);
    await bus.enqueue('scan', { v: 1, messageId: stuck }, jobIds.scan(stuck));
    await waitFor(async () => (await messages.findById(stuck))?.state === 'scanned');
    await waitFor(async () => (await bus.queue('scan').getJobState(jobIds.scan(stuck))) === 'completed');
    // As if the state change had been undone after the job completed (a restore, an operator).
    await messages.messages.updateOne({ _id: stuck }, { $set: { state: 'accepted', updatedAt: longAgo } });

    const result = await reconciler.reconcile();

    expect(result).toEqual({ checked: 2, requeued: 1 });
    expect(await bus.queue('scan').getJobState(jobIds.scan(delayed))).toBe('delayed');
    await waitFor(async () => (await messages.findById(stuck))?.state === 'scanned', {
      description: 'the replaced job to scan the message again',
    });
    await bus.queue('scan').remove(jobIds.scan(delayed));
  });
});
