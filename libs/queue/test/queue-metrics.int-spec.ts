import { loadConfig } from '@ser/config';
import { newMessageId, QUEUES } from '@ser/contracts';
import { createLogger } from '@ser/logger';
import { uniqueName, waitFor } from '@ser/testing';
import { register } from 'prom-client';
import { QueueBus, startJobWorker, UnrecoverableError, watchQueueMetrics } from '../src';

const logger = createLogger({ level: 'silent', pretty: false });
const { REDIS_URL } = loadConfig(process.env);

/**
 * The value of one sample of prom-client's global registry: `name` is the metric's, or a
 * histogram's series (`..._count`); `labels` must all match.
 */
async function sample(name: string, labels: Record<string, string>): Promise<number | undefined> {
  const metric = register.getSingleMetric(name) ?? register.getSingleMetric(name.replace(/_count$/, ''));
  const values = (await metric?.get())?.values ?? [];
  return values.find(
    (v) =>
      ((v as { metricName?: string }).metricName ?? name) === name &&
      Object.entries(labels).every(([key, value]) => String(v.labels[key]) === value),
  )?.value;
}

describe('queue metrics on the real Redis', () => {
  it('report the waiting jobs of a watched queue and the age of the oldest', async () => {
    const bus = new QueueBus(REDIS_URL, uniqueName('t'));
    const unwatch = watchQueueMetrics(new Map([[QUEUES.scan, bus.queue('scan')]]));
    try {
      // Nothing consumes these. The first was queued a minute ago; the list order decides the oldest.
      await bus.enqueue('scan', { v: 1, messageId: newMessageId() }, 'old', {
        timestamp: Date.now() - 60_000,
      });
      await bus.enqueue('scan', { v: 1, messageId: newMessageId() }, 'new');

      expect(await sample('ser_queue_jobs', { queue: QUEUES.scan, state: 'waiting' })).toBe(2);
      expect(await sample('ser_queue_jobs', { queue: QUEUES.scan, state: 'active' })).toBe(0);
      const age = await sample('ser_queue_oldest_age_seconds', { queue: QUEUES.scan });
      expect(age).toBeGreaterThanOrEqual(59);
      expect(age).toBeLessThan(120);

      unwatch();
      expect(await sample('ser_queue_jobs', { queue: QUEUES.scan, state: 'waiting' })).toBeUndefined();
    } finally {
      unwatch();
      await bus.close();
    }
  });

  it('time each handled job by stage and outcome', async () => {
    const prefix = uniqueName('t');
    const bus = new QueueBus(REDIS_URL, prefix);
    const good = new Set([newMessageId(), newMessageId()]);
    const bad = newMessageId();
    const worker = startJobWorker(
      'sign',
      (payload) =>
        good.has(payload.messageId) ? Promise.resolve() : Promise.reject(new UnrecoverableError('malformed')),
      { redisUrl: REDIS_URL, prefix, concurrency: 2, logger },
    );
    const count = async (outcome: string): Promise<number> =>
      (await sample('ser_stage_duration_seconds_count', { stage: 'sign', outcome })) ?? 0;
    try {
      const before = { ok: await count('ok'), error: await count('error') };
      for (const messageId of [...good, bad]) {
        await bus.enqueue('sign', { v: 1, messageId }, uniqueName('job'));
      }
      await waitFor(
        async () => (await count('ok')) - before.ok === 2 && (await count('error')) - before.error === 1,
        { timeoutMs: 10_000, description: 'every job timed with its outcome' },
      );
    } finally {
      await worker.close();
      await bus.close();
    }
  });
});
