import type { RelayConfig } from '@ser/config';
import type { RelayEvent } from '@ser/contracts';
import { MessageRepository } from '@ser/data';
import type { MessageDocument, RecipientDocument } from '@ser/data';
import { createLogger } from '@ser/logger';
import type { Logger } from '@ser/logger';
import { GridFsMessageStore, MESSAGE_BUCKET } from '@ser/mongo';
import { relayTestConfig } from '@ser/testing';
import type { RelayTestConfig } from '@ser/testing';
import { MongoClient } from 'mongodb';
import type { Db } from 'mongodb';
import { rmSync } from 'node:fs';
import { QueueInspector, startIngress } from './ingress-harness';
import type { RunningIngress } from './ingress-harness';
import { RawSmtpClient } from './raw-smtp-client';
import type { RawSmtpOptions, SmtpReply } from './raw-smtp-client';
import { TenantSeed } from './tenant-seed';
import type { SeededCredential } from './tenant-seed';

/** What a message left in the database: its record, its ledger and its body file. */
export interface MessageTrace {
  message: MessageDocument | null;
  recipients: RecipientDocument[];
  bodyStored: boolean;
}

/**
 * One ingress on its own database and queue prefix, with the clients and extra ingress instances a
 * test opens, all closed by `close()`.
 */
export class SubmissionFixture {
  readonly store: GridFsMessageStore;
  readonly messages: MessageRepository;
  readonly seed: TenantSeed;
  readonly queues: QueueInspector;
  private readonly clients: RawSmtpClient[] = [];
  private readonly extra: RunningIngress[] = [];

  private constructor(
    readonly setup: RelayTestConfig,
    readonly ingress: RunningIngress,
    readonly logger: Logger,
    private readonly mongo: MongoClient,
    readonly db: Db,
  ) {
    this.store = new GridFsMessageStore(db);
    this.messages = new MessageRepository(db);
    this.seed = new TenantSeed(db);
    this.queues = new QueueInspector(setup.config.REDIS_URL, setup.config.SER_QUEUE_PREFIX);
  }

  static async start(overrides: Record<string, string>): Promise<SubmissionFixture> {
    const setup = await relayTestConfig(overrides);
    const logger = createLogger({ level: setup.config.SER_LOG_LEVEL, pretty: false });
    const ingress = await startIngress(setup.config, logger);
    const mongo = await MongoClient.connect(setup.config.MONGO_URL);
    return new SubmissionFixture(setup, ingress, logger, mongo, mongo.db(setup.config.mongoDb));
  }

  get config(): RelayConfig {
    return this.setup.config;
  }

  /** Another ingress on the same database (ports chosen by the OS), stopped by `close()`. */
  async startAnother(overrides: Partial<RelayConfig>): Promise<RunningIngress> {
    const config: RelayConfig = {
      ...this.config,
      SER_INGRESS_SUBMISSION_PORT: 0,
      SER_INGRESS_SUBMISSIONS_PORT: 0,
      ...overrides,
    };
    const ingress = await startIngress(config, this.logger);
    this.extra.push(ingress);
    return ingress;
  }

  /** Connects and says EHLO; on the STARTTLS port, upgrades and says EHLO again unless `plain`. */
  async open(
    options: { implicitTls?: boolean; plain?: boolean; port?: number; replyTimeoutMs?: number } = {},
  ): Promise<RawSmtpClient> {
    const rawOptions: RawSmtpOptions = {
      port: options.port ?? (options.implicitTls ? this.ingress.implicitTlsPort : this.ingress.starttlsPort),
      implicitTls: options.implicitTls ?? false,
      ca: this.setup.tls.cert,
      ...(options.replyTimeoutMs === undefined ? {} : { replyTimeoutMs: options.replyTimeoutMs }),
    };
    const { client, greeting } = await RawSmtpClient.connect(rawOptions);
    this.clients.push(client);
    expectCode(greeting, 220);
    expectCode(await client.command('EHLO client.test'), 250);
    if (!options.implicitTls && !options.plain) {
      await client.startTls();
      expectCode(await client.command('EHLO client.test'), 250);
    }
    return client;
  }

  /** A TLS session authenticated with AUTH PLAIN. */
  async login(
    credential: SeededCredential,
    options: { port?: number; replyTimeoutMs?: number } = {},
  ): Promise<RawSmtpClient> {
    const client = await this.open(options);
    expectCode(await client.authPlain(credential.username, credential.password), 235);
    return client;
  }

  async trace(messageId: string): Promise<MessageTrace> {
    return {
      message: await this.messages.findById(messageId),
      recipients: await this.messages.recipientsFor(messageId),
      bodyStored: await this.store.exists(messageId),
    };
  }

  /** GridFS chunks whose file document is gone: what an interrupted or partial delete leaves. */
  async orphanChunks(): Promise<number> {
    const files = await this.db
      .collection(`${MESSAGE_BUCKET}.files`)
      .find({}, { projection: { _id: 1 } })
      .toArray();
    return this.db
      .collection(`${MESSAGE_BUCKET}.chunks`)
      .countDocuments({ files_id: { $nin: files.map((f) => f._id) } });
  }

  async events(type: RelayEvent['type']): Promise<RelayEvent[]> {
    const jobs = await this.queues.jobs('events');
    return jobs.map((j) => j.data as RelayEvent).filter((e) => e.type === type);
  }

  /** Ids of the messages refused so far (`<messageId>.refused` events). */
  async refusedMessageIds(): Promise<string[]> {
    return (await this.events('message.refused')).map((e) => e.id.replace(/\.refused$/, ''));
  }

  async close(): Promise<void> {
    await Promise.all(this.clients.map((c) => c.close()));
    for (const ingress of [...this.extra, this.ingress]) {
      await ingress.running.stop();
    }
    await this.queues.close();
    await this.db.dropDatabase();
    await this.mongo.close();
    rmSync(this.setup.dir, { recursive: true, force: true });
  }
}

export function expectCode(reply: SmtpReply, code: number): void {
  if (reply.code !== code) {
    throw new Error(`expected ${code}, got: ${reply.lines.join(' / ')}`);
  }
}
