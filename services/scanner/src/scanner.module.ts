import type { RelayConfig } from '@ser/config';
import { AcceptanceVerdicts, createRedis } from '@ser/queue';
import { CONFIG, CoreModule } from '@ser/runtime';
import type { CoreOptions } from '@ser/runtime';
import { Inject, Injectable, Module } from '@nestjs/common';
import type { DynamicModule, OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { ScanJobReconciler } from './jobs/scan-job-reconciler';
import { ScanMessageProcessor } from './jobs/scan-message.processor';
import { AttachmentInspector } from './scan/attachment-inspector';
import { ClamdClient } from './scan/clamd-client';
import { ClamdProbe } from './scan/clamd-probe';
import { ScanMessageUseCase } from './scan/scan-message.use-case';
import { SpamdEngine } from './spam/spamd-engine';
import { SpamscannerEngine } from './spam/spamscanner-engine';

/** The scanner's own Redis connection (acceptance verdicts); fails fast, so a job retries. */
const SCANNER_REDIS = Symbol('SCANNER_REDIS');

/** Closes the scanner's Redis connection after the worker has let its jobs finish. */
@Injectable()
class ScannerRedisShutdown implements OnApplicationShutdown {
  constructor(@Inject(SCANNER_REDIS) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

@Module({})
export class ScannerModule {
  static register(core: CoreOptions): DynamicModule {
    return {
      module: ScannerModule,
      imports: [CoreModule.forRoot(core)],
      providers: [
        {
          provide: SCANNER_REDIS,
          useFactory: (config: RelayConfig) => {
            const redis = createRedis(config.REDIS_URL, 'producer');
            // Failures surface through rejected commands (the job is retried); reconnects are silent.
            redis.on('error', () => undefined);
            return redis;
          },
          inject: [CONFIG],
        },
        {
          provide: AcceptanceVerdicts,
          useFactory: (redis: Redis, config: RelayConfig) =>
            new AcceptanceVerdicts(redis, config.SER_QUEUE_PREFIX),
          inject: [SCANNER_REDIS, CONFIG],
        },
        ScannerRedisShutdown,
        ClamdClient,
        ClamdProbe,
        AttachmentInspector,
        SpamscannerEngine,
        SpamdEngine,
        ScanMessageUseCase,
        ScanMessageProcessor,
        ScanJobReconciler,
      ],
    };
  }
}
