import type { QueueKey } from '@ser/contracts';
import type { Logger } from '@ser/logger';
import { DelayedError, UnrecoverableError, Worker } from 'bullmq';
import type { Job } from 'bullmq';
import { JOB_CATALOG } from './job-catalog';
import type { JobPayloads } from './job-catalog';
import { stageDurationMetric } from './queue-metrics';
import { createRedis } from './redis-connection';

export interface JobContext {
  jobId: string;
  attempt: number;
  maxAttempts: number;
  /**
   * Bound to `jobId`, `queue`, `attempt` and the payload's `messageId`. A handler that loads the
   * message record replaces it with `logger.child({ tenantId, appId })`, so that every later line
   * of the job carries the tenant, the worker's own failure line included.
   */
  logger: Logger;
  /**
   * Puts the job back to run again in `delayMs` without counting an attempt (a destination is at
   * its connection cap or rate limit: nothing was tried). Never resolves normally: it rejects with
   * BullMQ's DelayedError, which the handler lets through.
   */
  defer(delayMs: number): Promise<never>;
}

/**
 * An error a handler throws to be retried after a delay it chose itself (a retry schedule); the
 * worker's back-off uses `retryInMs` for errors that carry it.
 */
export class RetryLaterError extends Error {
  constructor(
    message: string,
    readonly retryInMs: number,
  ) {
    super(message);
    this.name = 'RetryLaterError';
  }
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
  /**
   * How long a job stays locked to this worker without a heartbeat; a worker killed mid-job gives
   * its job to another after about this long (BullMQ's stalled-job check runs at the same interval).
   */
  lockDurationMs?: number;
}

/** How often a job may lose its worker mid-run before BullMQ fails it (a crash loop stops there). */
export const MAX_STALLED_COUNT = 10;

/** Back-off of a failed attempt: the handler's own delay (RetryLaterError), else doubling from 2 s up to 5 min. */
export function retryDelay(attemptsMade: number, error: Error | undefined): number {
  if (error instanceof RetryLaterError) {
    return error.retryInMs;
  }
  return Math.min(2000 * 2 ** Math.max(0, attemptsMade - 1), 300_000);
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
  const stageDuration = stageDurationMetric();
  // The job logger a failed attempt ended with (tenant bound), for the failure line.
  const failedWith = new WeakMap<object, Logger>();
  const connection = createRedis(options.redisUrl, 'worker');
  const worker = new Worker(
    entry.queue,
    async (job: Job, token?: string) => {
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
      const context: JobContext = {
        jobId: job.id ?? '',
        attempt: job.attemptsMade + 1,
        maxAttempts: job.opts.attempts ?? 1,
        logger: options.logger.child({ ...base, messageId }),
        defer: async (delayMs) => {
          await job.moveToDelayed(Date.now() + Math.max(0, Math.round(delayMs)), token);
          throw new DelayedError();
        },
      };
      const stopTimer = stageDuration.startTimer({ stage: key });
      await handler(parsed.data, context).then(
        () => stopTimer({ outcome: 'ok' }),
        (error: unknown) => {
          // A deferred job tried nothing (its destination was at a cap): not a stage run.
          if (!(error instanceof DelayedError)) {
            stopTimer({ outcome: 'error' });
          }
          if (typeof error === 'object' && error !== null) {
            failedWith.set(error, context.logger);
          }
          throw error;
        },
      );
    },
    {
      connection,
      prefix: options.prefix,
      concurrency: options.concurrency,
      // BullMQ fails a job for good after this many stalls (its worker died while running it), and
      // the count never resets over the job's life. Stages are idempotent, so a job whose workers
      // were restarted a few times (deploys, node losses) must simply run again.
      maxStalledCount: MAX_STALLED_COUNT,
      ...(options.lockDurationMs === undefined
        ? {}
        : { lockDuration: options.lockDurationMs, stalledInterval: options.lockDurationMs }),
      // Used by catalog entries whose back-off type is `custom` (the delivery retry schedule).
      settings: {
        backoffStrategy: (attemptsMade: number, _type?: string, error?: Error) =>
          retryDelay(attemptsMade, error),
      },
    },
  );
  worker.on('failed', (job, error) => {
    // A job that failed outside its handler (stalled too often) has only its payload to go by.
    const logger =
      failedWith.get(error) ??
      options.logger.child({
        jobId: job?.id,
        queue: entry.queue,
        attempt: job?.attemptsMade,
        messageId: (job?.data as { messageId?: unknown } | undefined)?.messageId,
      });
    if (error instanceof RetryLaterError) {
      logger.info(
        { code: 'QUEUE_JOB_RETRY', retryInMs: error.retryInMs, reason: error.message },
        'job will run again later',
      );
      return;
    }
    logger.warn({ code: 'QUEUE_JOB_FAILED', err: error }, 'job attempt failed');
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
