import type { RelayConfig } from '@ser/config';
import type { QueueKey } from '@ser/contracts';
import type { Logger } from '@ser/logger';
import { startJobWorker } from '@ser/queue';
import type { JobContext, JobPayloads, RunningWorker } from '@ser/queue';
import type { OnApplicationBootstrap, OnModuleDestroy } from '@nestjs/common';

/**
 * Base of every queue processor: starts one BullMQ worker when the service starts and closes it
 * on shutdown, letting the jobs in progress finish. Subclasses only validate-and-delegate.
 */
export abstract class JobProcessor<K extends QueueKey> implements OnApplicationBootstrap, OnModuleDestroy {
  private worker: RunningWorker | undefined;

  protected constructor(
    private readonly queueKey: K,
    protected readonly config: RelayConfig,
    protected readonly logger: Logger,
  ) {}

  protected abstract concurrency(): number;

  abstract handle(payload: JobPayloads[K], context: JobContext): Promise<void>;

  onApplicationBootstrap(): void {
    this.worker = startJobWorker(this.queueKey, (payload, context) => this.handle(payload, context), {
      redisUrl: this.config.REDIS_URL,
      prefix: this.config.SER_QUEUE_PREFIX,
      concurrency: this.concurrency(),
      logger: this.logger,
      lockDurationMs: this.config.SER_QUEUE_LOCK_MS,
    });
  }

  /**
   * The first shutdown phase: no new jobs, the running ones finish while every resource they use
   * is still open (services close their clients, pools and connections in `onApplicationShutdown`).
   */
  async onModuleDestroy(): Promise<void> {
    await this.worker?.close();
  }
}
