import { jobIds, newMessageId } from '@ser/contracts';
import { MessageRepository, TenantConfigRepository } from '@ser/data';
import type { MessageDocument, ScanPolicy } from '@ser/data';
import { createLogger } from '@ser/logger';
import { GridFsMessageStore } from '@ser/mongo';
import type { MongoConnection } from '@ser/mongo';
import { QueueBus } from '@ser/queue';
import { startServices } from '@ser/runtime';
import type { RunningServices } from '@ser/runtime';
import { connectTestDatabase, relayTestConfig, uniqueName, waitFor } from '@ser/testing';
import { Readable } from 'node:stream';
import { scannerService } from '../src/index';

export interface SubmitOptions {
  /** Job attempts before the scanner gives up (it holds the message on the last one). */
  attempts?: number;
  tenantId?: string;
  appId?: string;
  /** The message id (default: a new one). */
  id?: string;
  /** The record's state (default `accepted`; `receiving` is a commit ingress has not made yet). */
  state?: 'accepted' | 'receiving';
}

/** The scanner service alone on the real FerretDB, Redis, clamd and spamd, with a database of its own. */
export interface ScannerFixture {
  messages: MessageRepository;
  tenants: TenantConfigRepository;
  bus: QueueBus;
  store: GridFsMessageStore;
  /** The fixture's own Redis URL and queue prefix. */
  redisUrl: string;
  prefix: string;
  /** Stores the body, writes an `accepted` record (unless told) and queues the scan job, like ingress. */
  submit(body: string | Buffer, options?: SubmitOptions): Promise<string>;
  /** Waits until the message left `accepted`. */
  settled(messageId: string): Promise<MessageDocument>;
  /** A tenant and application with these scan policies. */
  tenant(policy?: ScanPolicy, appPolicy?: ScanPolicy): Promise<{ tenantId: string; appId: string }>;
  /** The events queued for a message, by id. */
  events(messageId: string): Promise<{ id: string; type: string; data: Record<string, unknown> }[]>;
  stop(): Promise<void>;
}

export async function startScanner(
  overrides: Record<string, string | undefined> = {},
): Promise<ScannerFixture> {
  const { config } = await relayTestConfig(overrides);
  const running: RunningServices = await startServices(
    [scannerService],
    config,
    createLogger({ level: config.SER_LOG_LEVEL, pretty: false }),
  );
  const mongo: MongoConnection = await connectTestDatabase('scanner-int-spec', config.mongoDb);
  const bus = new QueueBus(config.REDIS_URL, config.SER_QUEUE_PREFIX);
  const messages = new MessageRepository(mongo.db);
  const tenants = new TenantConfigRepository(mongo.db);
  const store = new GridFsMessageStore(mongo.db);

  const submit = async (body: string | Buffer, options: SubmitOptions = {}): Promise<string> => {
    const id = options.id ?? newMessageId();
    const bytes = Buffer.isBuffer(body) ? body : Buffer.from(body);
    await store.put(id, Readable.from([bytes]), {});
    const now = new Date();
    await messages.create({
      _id: id,
      tenantId: options.tenantId ?? 'ten_test',
      appId: options.appId ?? 'app_test',
      credentialId: 'cred_test',
      envelope: { mailFrom: 'a@acme.test', rcptTo: ['b@dest.test'] },
      headerFrom: 'a@acme.test',
      fromDomain: 'acme.test',
      size: bytes.length,
      state: options.state ?? 'accepted',
      client: { ip: '127.0.0.1', tls: true },
      createdAt: now,
      updatedAt: now,
      expiresAt: now,
    });
    await bus.enqueue('scan', { v: 1, messageId: id }, jobIds.scan(id), {
      attempts: options.attempts ?? 3,
      backoff: { type: 'fixed', delay: 50 },
    });
    return id;
  };

  const settled = (id: string): Promise<MessageDocument> =>
    waitFor(
      async () => {
        const m = await messages.findById(id);
        return m !== null && m.state !== 'accepted' ? m : undefined;
      },
      { timeoutMs: 30000, intervalMs: 100, description: `scan of ${id}` },
    );

  const tenant = async (policy?: ScanPolicy, appPolicy?: ScanPolicy) => {
    const tenantId = uniqueName('ten');
    const appId = uniqueName('app');
    const createdAt = new Date();
    await tenants.tenants.insertOne({
      _id: tenantId,
      name: tenantId,
      status: 'active',
      createdAt,
      ...(policy === undefined ? {} : { scanPolicy: policy }),
    });
    await tenants.applications.insertOne({
      _id: appId,
      tenantId,
      name: appId,
      status: 'active',
      allowedFromDomains: [],
      createdAt,
      ...(appPolicy === undefined ? {} : { scanPolicy: appPolicy }),
    });
    return { tenantId, appId };
  };

  const events = async (id: string) => {
    const jobs = await bus.queue('events').getJobs(['waiting', 'delayed', 'completed', 'active']);
    return jobs
      .map((j) => j.data as { id: string; type: string; messageId?: string; data: Record<string, unknown> })
      .filter((e) => e.messageId === id);
  };

  const stop = async (): Promise<void> => {
    await running.stop();
    await bus.close();
    await mongo.db.dropDatabase();
    await mongo.close();
  };
  return {
    messages,
    tenants,
    bus,
    store,
    redisUrl: config.REDIS_URL,
    prefix: config.SER_QUEUE_PREFIX,
    submit,
    settled,
    tenant,
    events,
    stop,
  };
}
