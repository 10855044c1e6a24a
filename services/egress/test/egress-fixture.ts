import type { RelayConfig } from '@ser/config';
import { jobIds, newMessageId } from '@ser/contracts';
import type { MessageState, RelayEvent } from '@ser/contracts';
import { MessageRepository, TenantConfigRepository } from '@ser/data';
import type { MessageDocument, TenantDocument } from '@ser/data';
import { createLogger } from '@ser/logger';
import { GridFsMessageStore } from '@ser/mongo';
import type { MongoConnection } from '@ser/mongo';
import { QueueBus } from '@ser/queue';
import { startServices } from '@ser/runtime';
import type { RunningServices } from '@ser/runtime';
import { connectTestDatabase, relayTestConfig, waitFor } from '@ser/testing';
import { Readable } from 'node:stream';
import { egressService } from '../src/index';

export const SIGNATURE = 'DKIM-Signature: v=1; a=rsa-sha256; d=acme.test; s=s1; b=test\r\n';
export const TENANT = 'ten_egress';

export interface EgressFixture {
  config: RelayConfig;
  mongo: MongoConnection;
  messages: MessageRepository;
  tenants: TenantConfigRepository;
  bus: QueueBus;
  /** A message as the signer leaves it: body in the store, signature header on the record. */
  signedMessage(rcptTo: string[], options?: SignedMessageOptions): Promise<string>;
  /** Queues the delivery job of one recipient domain. */
  deliver(messageId: string, domain: string): Promise<void>;
  /** Waits for the message to leave `signed`/`delivering`. */
  finalState(messageId: string, timeoutMs?: number): Promise<MessageState>;
  /** The message's events of one type (the events queue is projected by the reporting service; here it is read raw). */
  events(messageId: string, type?: string): Promise<RelayEvent[]>;
  setTenant(fields: Partial<TenantDocument>): Promise<void>;
  /** A provider of the running egress service. */
  get<T>(type: new (...args: never[]) => T): T;
  stop(): Promise<void>;
}

export interface SignedMessageOptions {
  subject?: string;
  mailFrom?: string;
  body?: string;
  signing?: Pick<MessageDocument, 'dkim' | 'unsigned'>;
  /** When the message was accepted (default now). */
  createdAt?: Date;
}

/**
 * The egress service alone on the real Redis and database, configured by `overrides` (the DNS
 * server and sink port are the caller's). Events are read from the events queue.
 */
export async function startEgressFixture(overrides: Record<string, string>): Promise<EgressFixture> {
  const { config } = await relayTestConfig({ SER_SERVICES: 'egress', ...overrides });
  const running: RunningServices = await startServices(
    [egressService],
    config,
    createLogger({ level: config.SER_LOG_LEVEL, pretty: false }),
  );
  const mongo = await connectTestDatabase('egress-int-spec', config.mongoDb);
  const bus = new QueueBus(config.REDIS_URL, config.SER_QUEUE_PREFIX);
  const messages = new MessageRepository(mongo.db);
  const tenants = new TenantConfigRepository(mongo.db);
  await mongo.db.collection<TenantDocument>('tenants').insertOne({
    _id: TENANT,
    name: 'Egress test',
    status: 'active',
    createdAt: new Date(),
  });

  return {
    config,
    mongo,
    messages,
    tenants,
    bus,
    async signedMessage(rcptTo, options = {}) {
      const id = newMessageId();
      const subject = options.subject ?? id;
      const body =
        options.body ??
        `From: billing@acme.test\r\nTo: ${rcptTo.join(', ')}\r\nSubject: ${subject}\r\nMessage-ID: <${id}@acme.test>\r\n\r\n.leading dot\r\nbody\r\n`;
      await new GridFsMessageStore(mongo.db).put(id, Readable.from([Buffer.from(body)]), {});
      const now = options.createdAt ?? new Date();
      await messages.create({
        _id: id,
        tenantId: TENANT,
        appId: 'app_test',
        credentialId: 'cred_test',
        envelope: { mailFrom: options.mailFrom ?? 'bounces@saas.test', rcptTo },
        headerFrom: 'billing@acme.test',
        fromDomain: 'acme.test',
        size: Buffer.byteLength(body),
        state: 'signed',
        ...(options.signing ?? {
          dkim: { domain: 'acme.test', selector: 's1', keyId: 'dk_test', headers: SIGNATURE },
        }),
        client: { ip: '127.0.0.1', tls: true },
        createdAt: now,
        updatedAt: now,
        expiresAt: new Date(now.getTime() + 30 * 86_400_000),
      });
      return id;
    },
    deliver: (messageId, domain) =>
      bus.enqueue('deliver', { v: 1, messageId, domain }, jobIds.deliver(messageId, domain)),
    finalState: (messageId, timeoutMs = 20_000) =>
      waitFor(
        async () => {
          const m = await messages.findById(messageId);
          return m !== null && !['signed', 'delivering'].includes(m.state) ? m.state : undefined;
        },
        { timeoutMs, intervalMs: 100, description: `final state of ${messageId}` },
      ),
    async events(messageId, type) {
      const jobs = await bus.queue('events').getJobs(['waiting', 'completed', 'delayed', 'active', 'failed']);
      return jobs
        .map((job) => job.data as RelayEvent)
        .filter((e) => e.messageId === messageId && (type === undefined || e.type === type))
        .sort((a, b) => a.at.localeCompare(b.at) || a.id.localeCompare(b.id));
    },
    get<T>(type: new (...args: never[]) => T): T {
      const context = running.contexts.get('egress');
      if (context === undefined) throw new Error('egress is not running');
      return context.get(type);
    },
    async setTenant(fields) {
      await mongo.db.collection<TenantDocument>('tenants').updateOne({ _id: TENANT }, { $set: fields });
    },
    async stop() {
      await running.stop();
      await bus.queue('events').obliterate({ force: true });
      await bus.queue('deliver').obliterate({ force: true });
      await bus.close();
      await mongo.db.dropDatabase();
      await mongo.close();
    },
  };
}
