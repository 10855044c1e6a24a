import type { Queue } from 'bullmq';
import { Counter, Gauge, Histogram, register } from 'prom-client';
import type { Metric } from 'prom-client';

/**
 * The relay's core Prometheus metrics, on prom-client's global registry. Their names and labels are
 * a contract with dashboards and alerts (docs/configuration.md, ops endpoint): never rename one, add a new one.
 */
export const CORE_METRICS = {
  queueJobs: 'ser_queue_jobs',
  queueOldestAge: 'ser_queue_oldest_age_seconds',
  stageDuration: 'ser_stage_duration_seconds',
  events: 'ser_events_total',
} as const;

/** The job states `ser_queue_jobs` reports, BullMQ's names. */
export const QUEUE_JOB_STATES = ['waiting', 'active', 'delayed', 'failed'] as const;

/** A scrape must answer even when Redis does not: a queue that does not answer in time is left out. */
const COLLECT_TIMEOUT_MS = 2000;

/** From a few milliseconds (signing) to minutes (a slow MX's DATA timeout). */
const STAGE_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** Queues (name → Queue) whose depth this process reports: one map per startServices. */
const watched = new Set<ReadonlyMap<string, Queue>>();

/**
 * A metric registered once per registry: startServices may run several times in one process (the
 * tests), and prom-client refuses a second metric of the same name.
 */
function getOrCreate<T extends Metric>(name: string, create: () => T): T {
  return (register.getSingleMetric(name) as T | undefined) ?? create();
}

/** A counter on the global registry, created once per process (the services' own metrics use it). */
export function counterMetric<L extends string>(
  name: string,
  help: string,
  labelNames: readonly L[],
): Counter<L> {
  return getOrCreate(name, () => new Counter({ name, help, labelNames }));
}

export function stageDurationMetric(): Histogram<'stage' | 'outcome'> {
  return getOrCreate(
    CORE_METRICS.stageDuration,
    () =>
      new Histogram({
        name: CORE_METRICS.stageDuration,
        help: 'Time a job handler took, by stage (queue) and outcome (ok, error).',
        labelNames: ['stage', 'outcome'] as const,
        buckets: STAGE_BUCKETS,
      }),
  );
}

export function eventsMetric(): Counter<'type' | 'reason'> {
  return getOrCreate(
    CORE_METRICS.events,
    () =>
      new Counter({
        name: CORE_METRICS.events,
        help: 'Relay events published, by type and reason (the event data reason, else empty).',
        labelNames: ['type', 'reason'] as const,
      }),
  );
}

/**
 * Registers the two queue gauges, which read the watched queues at scrape time, and starts
 * watching `queues` (queue name → Queue). Returns the function that stops watching them.
 */
export function watchQueueMetrics(queues: ReadonlyMap<string, Queue>): () => void {
  queueJobsMetric();
  queueOldestAgeMetric();
  watched.add(queues);
  return () => {
    watched.delete(queues);
  };
}

function queueJobsMetric(): Gauge<'queue' | 'state'> {
  return getOrCreate(
    CORE_METRICS.queueJobs,
    () =>
      new Gauge({
        name: CORE_METRICS.queueJobs,
        help: 'BullMQ jobs per queue and state (waiting, active, delayed, failed), read at scrape time.',
        labelNames: ['queue', 'state'] as const,
        async collect() {
          this.reset();
          await forEachQueue(async (name, queue) => {
            const counts = await queue.getJobCounts(...QUEUE_JOB_STATES);
            for (const state of QUEUE_JOB_STATES) {
              this.set({ queue: name, state }, counts[state] ?? 0);
            }
          });
        },
      }),
  );
}

function queueOldestAgeMetric(): Gauge<'queue'> {
  return getOrCreate(
    CORE_METRICS.queueOldestAge,
    () =>
      new Gauge({
        name: CORE_METRICS.queueOldestAge,
        help: 'Seconds the oldest waiting job of a queue has been waiting (0 when none), read at scrape time.',
        labelNames: ['queue'] as const,
        async collect() {
          this.reset();
          await forEachQueue(async (name, queue) => {
            // The wait list is pushed on the left and taken from the right: ascending order's first is the oldest.
            const [oldest] = await queue.getJobs(['wait'], 0, 0, true);
            const since = oldest === undefined ? undefined : waitingSince(oldest);
            this.set({ queue: name }, since === undefined ? 0 : Math.max(0, (Date.now() - since) / 1000));
          });
        },
      }),
  );
}

async function forEachQueue(read: (name: string, queue: Queue) => Promise<void>): Promise<void> {
  const all = [...watched].flatMap((queues) => [...queues.entries()]);
  // A queue that fails or times out gets no sample (rather than a stale one); the others still do.
  await Promise.allSettled(all.map(([name, queue]) => withTimeout(read(name, queue), COLLECT_TIMEOUT_MS)));
}

function withTimeout(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((_, reject) => {
    timer = setTimeout(() => reject(new Error('timed out')), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * When a waiting job last became due (epoch ms): its creation plus its delay, or for a job that ran
 * before (a retry), its last start plus its back-off, so a retried job is not counted as waiting
 * since it was first queued. The second is a lower bound (the run's own duration is not known).
 */
export function waitingSince(job: { timestamp: number; processedOn?: number; delay?: number }): number {
  const delay = job.delay ?? 0;
  if (job.processedOn === undefined || job.processedOn === 0) {
    return job.timestamp + delay;
  }
  return Math.max(job.timestamp, job.processedOn + delay);
}

/**
 * The `reason` label of an event: `data.reason` when it is a code (`wrong_secret`, `hard_bounce`),
 * the code before a colon for a reason with details (`virus: Eicar-Signature` → `virus`), else
 * `other`; '' without a reason. Free text must not become a label value (unbounded series).
 */
export function eventReasonLabel(data: unknown): string {
  const reason =
    typeof data === 'object' && data !== null ? (data as { reason?: unknown }).reason : undefined;
  if (typeof reason !== 'string' || reason === '') {
    return '';
  }
  const code = /^([A-Za-z][A-Za-z0-9_.-]{0,63})(?::.*)?$/s.exec(reason.trim())?.[1];
  return code === undefined ? 'other' : code.toLowerCase();
}
