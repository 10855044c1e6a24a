import type { ServiceName } from '@ser/config';
import type { QueueKey } from '@ser/contracts';
import { JOB_CATALOG, watchQueueMetrics } from '@ser/queue';
import type { QueueBus } from '@ser/queue';
import type { INestApplicationContext } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { collectDefaultMetrics, register } from 'prom-client';
import { QUEUE_BUS } from './tokens';

/** The queues each service works on or produces to: the ones whose depth its process reports. */
export const SERVICE_QUEUES: Readonly<Record<ServiceName, readonly QueueKey[]>> = {
  ingress: ['scan', 'events'],
  scanner: ['scan', 'sign', 'events'],
  signer: ['sign', 'deliver', 'events'],
  egress: ['deliver', 'events'],
  reporting: ['events'],
  // Operators release or retry a held message into scan or sign.
  admin: ['scan', 'sign', 'events'],
};

/** A metric of prom-client's default set, present once they are registered. */
const DEFAULT_METRIC = 'process_cpu_user_seconds_total';

/** Node.js process metrics (CPU, memory, event loop lag, GC), registered once per process. */
export function ensureDefaultMetrics(): void {
  if (register.getSingleMetric(DEFAULT_METRIC) === undefined) {
    collectDefaultMetrics();
  }
}

/**
 * Reports the depth and age of the queues of the started services (`ser_queue_jobs`,
 * `ser_queue_oldest_age_seconds`), each read through the producer connection of a service that
 * uses it. Returns the function that stops reporting them (before the contexts close).
 */
export function watchServiceQueues(contexts: ReadonlyMap<ServiceName, INestApplicationContext>): () => void {
  const queues = new Map<string, Queue>();
  for (const [service, context] of contexts) {
    const bus = context.get<QueueBus>(QUEUE_BUS, { strict: false });
    for (const key of SERVICE_QUEUES[service]) {
      const name = JOB_CATALOG[key].queue;
      if (!queues.has(name)) {
        queues.set(name, bus.queue(key));
      }
    }
  }
  return watchQueueMetrics(queues);
}
