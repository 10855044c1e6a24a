import { loadConfig } from '@ser/config';
import { jobIds, newMessageId, QUEUES } from '@ser/contracts';
import type { QueueKey, ScanJob, SignJob } from '@ser/contracts';
import { createLogger } from '@ser/logger';
import { freePort, uniqueName, waitFor } from '@ser/testing';
import { Queue } from 'bullmq';
import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import { EventPublisher, InvalidJobError, QueueBus, RetryLaterError, startJobWorker } from '../src';
import type { JobContext, JobHandler, RunningWorker } from '../src';

const logger = createLogger({ level: 'silent', pretty: false });
const { REDIS_URL } = loadConfig(process.env);

// First in the file: closing a client whose socket was refused leaves ioredis' 2 s disconnect timer
// running, and the other tests give it time to expire before Jest checks for open handles.
describe('with Redis unreachable', () => {
  it('tryPublish resolves false promptly, and enqueue rejects instead of hanging', async () => {
    const bus = new QueueBus(`redis://127.0.0.1:${await freePort()}`, uniqueName('t'));
    const events = new EventPublisher(bus);
    const started = Date.now();
    let timer: NodeJS.Timeout | undefined;
    try {
      const outcome = await Promise.race([
        events.tryPublish({ id: uniqueName('e'), type: 'session.connected' }),
        new Promise<'still pending'>((resolve) => {
          timer = setTimeout(() => resolve('still pending'), 10_000);
        }),
      ]);

      expect(outcome).toBe(false);
      expect(Date.now() - started).toBeLessThan(6_000);
      // A caller that needs the job (ingress before its reply) sees the failure and can answer 451.
      await expect(bus.enqueue('scan', { v: 1, messageId: newMessageId() }, 'down')).rejects.toThrow(
        /Redis is not reachable/,
      );
    } finally {
      clearTimeout(timer);
      await bus.close();
    }
  });
});

/** Real Redis; every test has a BullMQ prefix of its own, so queues never mix between tests. */
describe('QueueBus and job workers', () => {
  const buses: QueueBus[] = [];
  const workers: RunningWorker[] = [];
  const closers: (() => Promise<unknown>)[] = [];

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.close()));
    // Remove this file's keys (its own prefixes only), then close the producers.
    for (const bus of buses) {
      for (const key of Object.keys(QUEUES) as QueueKey[]) {
        await bus
          .queue(key)
          .obliterate({ force: true })
          .catch(() => undefined);
      }
    }
    await Promise.all(buses.map((b) => b.close()));
    for (const close of closers) {
      await close();
    }
  });

  function newBus(redisUrl = REDIS_URL): { bus: QueueBus; prefix: string } {
    const prefix = uniqueName('t');
    const bus = new QueueBus(redisUrl, prefix);
    buses.push(bus);
    return { bus, prefix };
  }

  function worker<K extends QueueKey>(key: K, prefix: string, handler: JobHandler<K>): RunningWorker {
    const running = startJobWorker(key, handler, { redisUrl: REDIS_URL, prefix, concurrency: 1, logger });
    workers.push(running);
    return running;
  }

  async function totalJobs(queue: Queue): Promise<number> {
    const counts = await queue.getJobCounts();
    return Object.values(counts).reduce((sum, n) => sum + n, 0);
  }

  /** Waits for the job to reach a final state, then reads it (reading first could return it stale). */
  function settled(queue: Queue, jobId: string, state: 'completed' | 'failed'): Promise<Job> {
    return waitFor(
      async () => ((await queue.getJobState(jobId)) === state ? queue.getJob(jobId) : undefined),
      { timeoutMs: 15000, description: () => `job ${jobId} ${state}` },
    );
  }

  it('refuses an invalid payload with InvalidJobError and adds nothing', async () => {
    const { bus } = newBus();
    const messageId = newMessageId();

    const invalid = [
      { v: 2, messageId },
      { v: 1, messageId: 'not-a-message-id' },
      { v: 1, messageId, extra: true },
    ] as unknown as ScanJob[];
    for (const payload of invalid) {
      await expect(bus.enqueue('scan', payload, jobIds.scan(messageId))).rejects.toThrow(InvalidJobError);
    }

    expect(await totalJobs(bus.queue('scan'))).toBe(0);
    expect(await bus.queue('scan').getJob(jobIds.scan(messageId))).toBeUndefined();
  });

  it('names the queue in InvalidJobError', async () => {
    const { bus } = newBus();
    const error = await bus
      .enqueue('deliver', { v: 1, messageId: newMessageId(), domain: '' }, 'x')
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidJobError);
    expect((error as Error).message).toContain(QUEUES.deliver);
  });

  it('adds a job once for the same job id', async () => {
    const { bus } = newBus();
    const messageId = newMessageId();
    await bus.enqueue('scan', { v: 1, messageId }, jobIds.scan(messageId));
    await bus.enqueue('scan', { v: 1, messageId }, jobIds.scan(messageId));

    expect(await totalJobs(bus.queue('scan'))).toBe(1);
    const job = await bus.queue('scan').getJob(jobIds.scan(messageId));
    expect(job?.data).toEqual({ v: 1, messageId });
    // The catalog's retry policy is applied.
    expect(job?.opts.attempts).toBe(8);
  });

  it('lets the caller override job options', async () => {
    const { bus } = newBus();
    const messageId = newMessageId();
    await bus.enqueue('sign', { v: 1, messageId }, jobIds.sign(messageId), { attempts: 2, delay: 60_000 });
    const job = await bus.queue('sign').getJob(jobIds.sign(messageId));
    expect(job?.opts.attempts).toBe(2);
    expect(await job?.getState()).toBe('delayed');
  });

  it('runs a valid job through the handler with its context', async () => {
    const { bus, prefix } = newBus();
    const messageId = newMessageId();
    const calls: { payload: SignJob; context: JobContext }[] = [];
    worker('sign', prefix, (payload, context) => {
      calls.push({ payload, context });
      return Promise.resolve();
    });

    await bus.enqueue('sign', { v: 1, messageId }, jobIds.sign(messageId));

    await settled(bus.queue('sign'), jobIds.sign(messageId), 'completed');
    expect(calls).toHaveLength(1);
    expect(calls[0]?.payload).toEqual({ v: 1, messageId });
    expect(calls[0]?.context).toMatchObject({ jobId: jobIds.sign(messageId), attempt: 1, maxAttempts: 8 });
  });

  it('fails a malformed payload once, without retrying, even with attempts left', async () => {
    const { prefix } = newBus();
    const connection = new Redis(REDIS_URL, { maxRetriesPerRequest: null });
    const raw = new Queue(QUEUES.scan, { connection, prefix });
    closers.push(async () => {
      await raw.close();
      connection.disconnect();
    });
    let handled = 0;
    worker('scan', prefix, () => {
      handled += 1;
      return Promise.resolve();
    });

    await raw.add(
      'scan',
      { v: 1, messageId: 'not-a-message-id' },
      {
        jobId: 'malformed',
        attempts: 3,
        backoff: { type: 'fixed', delay: 10 },
      },
    );

    const failed = await settled(raw, 'malformed', 'failed');
    expect(failed.attemptsMade).toBe(1);
    expect(failed.failedReason).toContain(`invalid ${QUEUES.scan} payload`);
    expect(handled).toBe(0);
  });

  it('retries a job whose handler throws, until it succeeds', async () => {
    const { bus, prefix } = newBus();
    const messageId = newMessageId();
    const attempts: JobContext[] = [];
    worker('scan', prefix, (_payload, context) => {
      attempts.push(context);
      if (context.attempt < 3) {
        return Promise.reject(new Error(`transient failure ${context.attempt}`));
      }
      return Promise.resolve();
    });

    await bus.enqueue('scan', { v: 1, messageId }, jobIds.scan(messageId), {
      attempts: 3,
      backoff: { type: 'fixed', delay: 20 },
    });

    await settled(bus.queue('scan'), jobIds.scan(messageId), 'completed');
    expect(attempts.map((c) => c.attempt)).toEqual([1, 2, 3]);
    expect(attempts.every((c) => c.maxAttempts === 3 && c.jobId === jobIds.scan(messageId))).toBe(true);
  });

  it('fails a job for good once its attempts are used up', async () => {
    const { bus, prefix } = newBus();
    const messageId = newMessageId();
    let calls = 0;
    worker('scan', prefix, () => {
      calls += 1;
      return Promise.reject(new Error('always down'));
    });

    await bus.enqueue('scan', { v: 1, messageId }, jobIds.scan(messageId), {
      attempts: 2,
      backoff: { type: 'fixed', delay: 10 },
    });

    const failed = await settled(bus.queue('scan'), jobIds.scan(messageId), 'failed');
    expect(failed.attemptsMade).toBe(2);
    expect(failed.failedReason).toBe('always down');
    expect(calls).toBe(2);
  });

  it('keeps the last 5 stack traces of a job that failed more often, and bounds the failed jobs kept', async () => {
    const { bus, prefix } = newBus();
    const messageId = newMessageId();
    let calls = 0;
    worker('scan', prefix, () => {
      calls += 1;
      return Promise.reject(new Error(`down, try ${String(calls)}`));
    });

    await bus.enqueue('scan', { v: 1, messageId }, jobIds.scan(messageId), {
      attempts: 7,
      backoff: { type: 'fixed', delay: 10 },
    });

    const failed = await settled(bus.queue('scan'), jobIds.scan(messageId), 'failed');
    expect(failed.attemptsMade).toBe(7);
    expect(failed.stacktrace).toHaveLength(5);
    expect(failed.stacktrace?.at(-1)).toContain('down, try 7');
    expect(failed.opts.removeOnFail).toEqual({ age: 7 * 24 * 3600, count: 50_000 });
  });
  it('runs a job again after the delay its handler chose (custom back-off), counting attempts', async () => {
    const { bus, prefix } = newBus();
    const messageId = newMessageId();
    const runs: { attempt: number; at: number }[] = [];
    worker('deliver', prefix, (_payload, context) => {
      runs.push({ attempt: context.attempt, at: Date.now() });
      return context.attempt < 3 ? Promise.reject(new RetryLaterError('deferred', 600)) : Promise.resolve();
    });

    await bus.enqueue(
      'deliver',
      { v: 1, messageId, domain: 'dest.test' },
      jobIds.deliver(messageId, 'dest.test'),
    );

    const done = await settled(bus.queue('deliver'), jobIds.deliver(messageId, 'dest.test'), 'completed');
    expect(runs.map((r) => r.attempt)).toEqual([1, 2, 3]);
    expect(done.attemptsMade).toBe(3);
    // Each retry waited for the handler's delay, not the default back-off (2 s, then 4 s).
    for (let i = 1; i < runs.length; i += 1) {
      const gap = (runs[i]?.at ?? 0) - (runs[i - 1]?.at ?? 0);
      expect(gap).toBeGreaterThanOrEqual(550);
      expect(gap).toBeLessThan(1900);
    }
  });

  it('defers a job without counting an attempt', async () => {
    const { bus, prefix } = newBus();
    const messageId = newMessageId();
    const runs: { attempt: number; at: number }[] = [];
    worker('deliver', prefix, async (_payload, context) => {
      runs.push({ attempt: context.attempt, at: Date.now() });
      if (runs.length < 3) {
        await context.defer(300);
      }
    });

    await bus.enqueue(
      'deliver',
      { v: 1, messageId, domain: 'dest.test' },
      jobIds.deliver(messageId, 'dest.test'),
    );

    const done = await settled(bus.queue('deliver'), jobIds.deliver(messageId, 'dest.test'), 'completed');
    expect(runs.map((r) => r.attempt)).toEqual([1, 1, 1]);
    expect(done.attemptsMade).toBe(1);
    expect((runs[2]?.at ?? 0) - (runs[0]?.at ?? 0)).toBeGreaterThanOrEqual(550);
  });
});

describe('EventPublisher', () => {
  const buses: QueueBus[] = [];

  afterAll(async () => {
    for (const bus of buses) {
      await bus.queue('events').obliterate({ force: true });
      await bus.close();
    }
  });

  function publisher(): { bus: QueueBus; events: EventPublisher } {
    const bus = new QueueBus(REDIS_URL, uniqueName('t'));
    buses.push(bus);
    return { bus, events: new EventPublisher(bus) };
  }

  it('uses the event id as the job id, so publishing the same fact twice queues one job', async () => {
    const { bus, events } = publisher();
    const messageId = newMessageId();
    const input = {
      id: `${messageId}.accepted`,
      type: 'message.accepted',
      tenantId: 'ten_a',
      messageId,
    } as const;

    const first = await events.publish(input);
    await events.publish(input);

    expect(first).toMatchObject({ ...input, v: 1, data: {} });
    expect(Number.isNaN(Date.parse(first.at))).toBe(false);
    const counts = await bus.queue('events').getJobCounts();
    expect(Object.values(counts).reduce((sum, n) => sum + n, 0)).toBe(1);
    const job = await bus.queue('events').getJob(input.id);
    expect(job?.data).toEqual(first);
  });

  it('keeps a given time', async () => {
    const { events } = publisher();
    const at = '2025-06-01T12:00:00.000Z';
    expect((await events.publish({ id: uniqueName('e'), type: 'auth.failed', at })).at).toBe(at);
  });

  it('refuses an invalid event, and tryPublish reports it as false', async () => {
    const { bus, events } = publisher();
    const bad = { id: uniqueName('e'), type: 'message.exploded' } as unknown as Parameters<
      EventPublisher['publish']
    >[0];
    await expect(events.publish(bad)).rejects.toThrow();
    await expect(events.tryPublish(bad)).resolves.toBe(false);
    const counts = await bus.queue('events').getJobCounts();
    expect(Object.values(counts).reduce((sum, n) => sum + n, 0)).toBe(0);
  });

  it('tryPublish resolves true when the event is queued', async () => {
    const { bus, events } = publisher();
    const id = uniqueName('e');
    await expect(events.tryPublish({ id, type: 'session.connected' })).resolves.toBe(true);
    expect(await bus.queue('events').getJob(id)).toBeDefined();
  });
});
