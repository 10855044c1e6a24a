import type { QueueKey } from '@ser/contracts';
import { Queue } from 'bullmq';
import type { JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import { JOB_CATALOG } from './job-catalog';
import type { JobPayloads } from './job-catalog';
import { createRedis } from './redis-connection';

/** As long as one connection attempt may take (the producer's `connectTimeout`). */
const READY_TIMEOUT_MS = 5000;

export class InvalidJobError extends Error {
  constructor(queue: string, message: string) {
    super(`invalid ${queue} job: ${message}`);
    this.name = 'InvalidJobError';
  }
}

/** Typed producer for every queue of the catalog. Validates before `add()`. */
export class QueueBus {
  private readonly connection: Redis;
  private readonly queues = new Map<QueueKey, Queue>();

  /**
   * `retry` overrides the catalog's retry policy per queue (operators tune how long a stage keeps
   * trying before its last attempt decides, e.g. how long clamd may be down before a message is held).
   */
  constructor(
    redisUrl: string,
    private readonly prefix: string,
    private readonly retry: Partial<Record<QueueKey, Pick<JobsOptions, 'attempts' | 'backoff'>>> = {},
  ) {
    this.connection = createRedis(redisUrl, 'producer');
    // ioredis emits errors on reconnect attempts; callers see failures through rejected commands.
    this.connection.on('error', () => undefined);
  }

  async enqueue<K extends QueueKey>(
    key: K,
    payload: JobPayloads[K],
    jobId: string,
    options: JobsOptions = {},
  ): Promise<void> {
    const entry = JOB_CATALOG[key];
    const parsed = entry.schema.safeParse(payload);
    if (!parsed.success) {
      throw new InvalidJobError(entry.queue, parsed.error.message);
    }
    await this.connected();
    await this.queue(key).add(key, parsed.data, { ...entry.defaults, ...this.retry[key], ...options, jobId });
  }

  /**
   * BullMQ waits for the first 'ready' of its connection without a deadline, and this connection
   * retries forever: with Redis unreachable since start-up, `add()` would never settle. Fail fast
   * instead, like every command once connected (no offline queue), so callers can answer 451.
   */
  private connected(): Promise<void> {
    const connection = this.connection;
    if (connection.status === 'ready') {
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const settle = (error?: Error): void => {
        clearTimeout(timer);
        connection.off('ready', onReady);
        connection.off('error', onError);
        connection.off('end', onEnd);
        if (error === undefined) {
          resolve();
        } else {
          reject(error);
        }
      };
      const onReady = (): void => settle();
      const onError = (error: Error): void => settle(new Error(`Redis is not reachable: ${error.message}`));
      const onEnd = (): void => settle(new Error('Redis connection closed'));
      const timer = setTimeout(
        () => settle(new Error('Redis is not reachable: timed out')),
        READY_TIMEOUT_MS,
      );
      connection.once('ready', onReady);
      connection.once('error', onError);
      connection.once('end', onEnd);
    });
  }

  queue(key: QueueKey): Queue {
    let queue = this.queues.get(key);
    if (queue === undefined) {
      queue = new Queue(JOB_CATALOG[key].queue, { connection: this.connection, prefix: this.prefix });
      queue.on('error', () => undefined);
      this.queues.set(key, queue);
    }
    return queue;
  }

  async ping(): Promise<void> {
    await this.connection.ping();
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    this.connection.disconnect();
  }
}
