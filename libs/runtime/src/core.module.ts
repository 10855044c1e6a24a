import type { RelayConfig, ServiceName } from '@ser/config';
import {
  auditIndexes,
  apiTokenIndexes,
  EventRepository,
  eventIndexes,
  MessageRepository,
  messageIndexes,
  statsIndexes,
  suppressionIndexes,
  TenantConfigRepository,
  tenantConfigIndexes,
} from '@ser/data';
import type { Logger } from '@ser/logger';
import { connectMongo, ensureIndexes, GridFsMessageStore, messageStoreIndexes } from '@ser/mongo';
import type { MongoConnection } from '@ser/mongo';
import { EventPublisher, QueueBus } from '@ser/queue';
import { Global, Inject, Injectable, Module } from '@nestjs/common';
import type { DynamicModule, OnApplicationShutdown } from '@nestjs/common';
import type { Readiness } from './readiness';
import { CONFIG, EVENTS, LOGGER, MESSAGE_STORE, MONGO, QUEUE_BUS, READINESS } from './tokens';

@Injectable()
class CoreShutdown implements OnApplicationShutdown {
  constructor(
    @Inject(MONGO) private readonly mongo: MongoConnection,
    @Inject(QUEUE_BUS) private readonly bus: QueueBus,
  ) {}

  async onApplicationShutdown(): Promise<void> {
    await this.bus.close();
    await this.mongo.close();
  }
}

export interface CoreOptions {
  config: RelayConfig;
  service: ServiceName;
  readiness: Readiness;
  logger: Logger;
}

/** Connections, repositories and producers shared by the providers of one service. */
@Global()
@Module({})
export class CoreModule {
  static forRoot(options: CoreOptions): DynamicModule {
    const { config, service } = options;
    const providers = [
      { provide: CONFIG, useValue: config },
      { provide: LOGGER, useValue: options.logger.child({ service }) },
      { provide: READINESS, useValue: options.readiness },
      {
        provide: MONGO,
        useFactory: async (): Promise<MongoConnection> => {
          const mongo = await connectMongo({
            url: config.MONGO_URL,
            dbName: config.mongoDb,
            writeConcern: config.SER_MONGO_WRITE_CONCERN,
            appName: `ser-${service}`,
          });
          await ensureIndexes(mongo.db, [
            ...messageStoreIndexes,
            ...tenantConfigIndexes,
            ...messageIndexes,
            ...eventIndexes,
            ...auditIndexes,
            ...apiTokenIndexes,
            ...suppressionIndexes,
            ...statsIndexes,
          ]);
          return mongo;
        },
      },
      {
        provide: QUEUE_BUS,
        useFactory: () =>
          new QueueBus(config.REDIS_URL, config.SER_QUEUE_PREFIX, {
            scan: {
              attempts: config.SER_SCANNER_ATTEMPTS,
              backoff: { type: 'exponential', delay: config.SER_SCANNER_RETRY_DELAY_MS },
            },
          }),
      },
      { provide: EVENTS, useFactory: (bus: QueueBus) => new EventPublisher(bus), inject: [QUEUE_BUS] },
      {
        provide: MESSAGE_STORE,
        useFactory: (m: MongoConnection) => new GridFsMessageStore(m.db),
        inject: [MONGO],
      },
      {
        provide: TenantConfigRepository,
        useFactory: (m: MongoConnection) => new TenantConfigRepository(m.db),
        inject: [MONGO],
      },
      {
        provide: MessageRepository,
        useFactory: (m: MongoConnection) => new MessageRepository(m.db),
        inject: [MONGO],
      },
      {
        provide: EventRepository,
        useFactory: (m: MongoConnection) => new EventRepository(m.db),
        inject: [MONGO],
      },
      CoreShutdown,
    ];
    return {
      module: CoreModule,
      providers,
      exports: providers.filter((p) => p !== CoreShutdown).map((p) => ('provide' in p ? p.provide : p)),
    };
  }
}
