import { deliverJobSchema, QUEUES, relayEventSchema, scanJobSchema, signJobSchema } from '@ser/contracts';
import type { DeliverJob, QueueKey, RelayEvent, ScanJob, SignJob } from '@ser/contracts';
import type { JobsOptions } from 'bullmq';
import type { z } from 'zod';

/** One entry per job type: schema and default job options (retry policy, retention). */
export interface CatalogEntry<T> {
  queue: string;
  schema: z.ZodType<T>;
  defaults: JobsOptions;
}

export interface JobPayloads {
  scan: ScanJob;
  sign: SignJob;
  deliver: DeliverJob;
  events: RelayEvent;
}

/**
 * Completed jobs for an hour, failed ones for a week, at most 50,000 of them per queue (a mass
 * failure must not fill Redis, whose `noeviction` would then refuse new jobs: the database keeps
 * the state, and the reconcilers re-create what is missing). A job keeps only its last 5 stack
 * traces (a delivery deferred for days fails once per retry, each trace would stay in Redis).
 */
const retention = {
  removeOnComplete: { age: 3600, count: 10000 },
  removeOnFail: { age: 7 * 24 * 3600, count: 50_000 },
  stackTraceLimit: 5,
};

export const JOB_CATALOG: { [K in QueueKey]: CatalogEntry<JobPayloads[K]> } = {
  scan: {
    queue: QUEUES.scan,
    schema: scanJobSchema,
    defaults: { attempts: 8, backoff: { type: 'exponential', delay: 2000 }, ...retention },
  },
  sign: {
    queue: QUEUES.sign,
    schema: signJobSchema,
    defaults: { attempts: 8, backoff: { type: 'exponential', delay: 2000 }, ...retention },
  },
  deliver: {
    queue: QUEUES.deliver,
    schema: deliverJobSchema,
    // Egress decides when a deferred delivery runs again (SER_EGRESS_RETRY_SCHEDULE) and when it
    // expires (SER_EGRESS_MAX_AGE); the attempt count is only a backstop far beyond that.
    defaults: { attempts: 100_000, backoff: { type: 'custom' }, ...retention },
  },
  events: {
    queue: QUEUES.events,
    schema: relayEventSchema,
    defaults: { attempts: 20, backoff: { type: 'exponential', delay: 1000 }, ...retention },
  },
};
