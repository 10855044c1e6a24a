import type { QueueKey } from '@ser/contracts';
import type { Logger } from '@ser/logger';
import { UnrecoverableError, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import { JOB_CATALOG } from './job-catalog';
import type { JobPayloads } from './job-catalog';
import { createRedis } from './redis-connection';

export interface JobContext {
  jobId: string;
  attempt: number;
  maxAttempts: number;
  logger: Logger;
}

export type JobHandler<K extends QueueKey> = (payload: JobPayloads[K], context: JobContext) => Promise<void>;

export interface RunningWorker {
  worker: Worker;
  /** Lets jobs in progress finish, then closes the worker's connection. */
  close(): Promise<void>;
}

export interface WorkerOptions {
  redisUrl: string;
  prefix: string;
  concurrency: number;
  logger: Logger;
}

/**
 * Starts a BullMQ worker for one catalog entry. Malformed payloads are not retried
 * (UnrecoverableError); everything else a handler throws is retried with the entry's back-off.
 */
export function startJobWorker<K extends QueueKey>(
  key: K,
  handler: JobHandler<K>,
  options: WorkerOptions,
): RunningWorker {
  const entry = JOB_CATALOG[key];
  const connection = createRedis(options.redisUrl, 'worker');
  const worker = new Worker(
    entry.queue,
    async (job: Job) => {
      const parsed = entry.schema.safeParse(job.data);
      const base = { jobId: job.id, queue: entry.queue, attempt: job.attemptsMade + 1 };
      if (!parsed.success) {
        options.logger.error(
          { ...base, code: 'QUEUE_JOB_INVALID', issues: parsed.error.issues },
          'invalid job payload',
        );
        throw new UnrecoverableError(`invalid ${entry.queue} payload`);
      }
      const messageId = (parsed.data as { messageId?: string }).messageId;
      const logger = options.logger.child({ ...base, messageId });
      await handler(parsed.data, {
        jobId: job.id ?? '',
        attempt: job.attemptsMade + 1,
        maxAttempts: job.opts.attempts ?? 1,
        logger,
      });
    },
    {
      connection,
      prefix: options.prefix,
      concurrency: options.concurrency,
    },
  );
  worker.on('failed', (job, error) => {
    options.logger.warn(
      {
        code: 'QUEUE_JOB_FAILED',
        queue: entry.queue,
        jobId: job?.id,
        attempt: job?.attemptsMade,
        err: error,
      },
      'job attempt failed',
    );
  });
  worker.on('error', (error) => {
    options.logger.error({ code: 'QUEUE_WORKER_ERROR', queue: entry.queue, err: error }, 'worker error');
  });
  return {
    worker,
    // BullMQ does not close a connection it was given; the worker owns this one.
    close: async () => {
      await worker.close();
      connection.disconnect();
    },
  };
}

export { UnrecoverableError };
