import { loadConfig } from '@ser/config';
import { jobIds, newMessageId, QUEUES } from '@ser/contracts';
import type { QueueKey } from '@ser/contracts';
import { createLogger } from '@ser/logger';
import { uniqueName, waitFor } from '@ser/testing';
import { Writable } from 'node:stream';
import { QueueBus, RetryLaterError, startJobWorker } from '../src';
import type { JobHandler, RunningWorker } from '../src';

const { REDIS_URL } = loadConfig(process.env);

/** Real Redis, a BullMQ prefix of its own; the worker's lines go to a stream the test reads. */
describe('the lines of a job', () => {
  let output = '';
  const logger = createLogger({
    level: 'info',
    pretty: false,
    destination: new Writable({
      write(chunk: Buffer, _encoding, done) {
        output += chunk.toString();
        done();
      },
    }),
  });
  const prefix = uniqueName('t');
  const bus = new QueueBus(REDIS_URL, prefix);
  const workers: RunningWorker[] = [];

  afterAll(async () => {
    await Promise.all(workers.map((w) => w.close()));
    for (const key of Object.keys(QUEUES) as QueueKey[]) {
      await bus
        .queue(key)
        .obliterate({ force: true })
        .catch(() => undefined);
    }
    await bus.close();
  });

  const lines = (): Record<string, unknown>[] =>
    output
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>);

  function worker<K extends QueueKey>(key: K, handler: JobHandler<K>): void {
    workers.push(startJobWorker(key, handler, { redisUrl: REDIS_URL, prefix, concurrency: 1, logger }));
  }

  const lineOf = (code: string, messageId: string): Promise<Record<string, unknown>> =>
    waitFor(() => lines().find((line) => line['code'] === code && line['messageId'] === messageId), {
      timeoutMs: 15000,
      description: `${code} of ${messageId}`,
    });

  it('reports a failed attempt with the job, the message and the tenant the handler bound', async () => {
    const messageId = newMessageId();
    worker('scan', (_payload, context) => {
      context.logger = context.logger.child({ tenantId: 'ten_a', appId: 'app_a' });
      context.logger.info({ code: 'TEST_LOADED' }, 'record loaded');
      return Promise.reject(new Error('redis://:hunter2-secret@cache:6379 refused'));
    });

    await bus.enqueue('scan', { v: 1, messageId }, jobIds.scan(messageId), { attempts: 1 });

    const failed = await lineOf('QUEUE_JOB_FAILED', messageId);
    expect(failed).toMatchObject({
      level: 40,
      jobId: jobIds.scan(messageId),
      queue: QUEUES.scan,
      attempt: 1,
      messageId,
      tenantId: 'ten_a',
      appId: 'app_a',
      err: { message: 'redis://:[redacted]@cache:6379 refused' },
    });
    expect(lines().find((line) => line['code'] === 'TEST_LOADED')).toMatchObject({
      messageId,
      tenantId: 'ten_a',
    });
    expect(output).not.toContain('hunter2-secret');
  });

  it('reports a retry the handler chose with the tenant it bound, each field once', async () => {
    const messageId = newMessageId();
    worker('deliver', (_payload, context) => {
      context.logger = context.logger.child({ tenantId: 'ten_b', appId: 'app_b' });
      return context.attempt < 2 ? Promise.reject(new RetryLaterError('deferred', 20)) : Promise.resolve();
    });

    await bus.enqueue(
      'deliver',
      { v: 1, messageId, domain: 'dest.test' },
      jobIds.deliver(messageId, 'dest.test'),
    );

    const retry = await lineOf('QUEUE_JOB_RETRY', messageId);
    expect(retry).toMatchObject({ retryInMs: 20, messageId, tenantId: 'ten_b', appId: 'app_b', attempt: 1 });
    const raw = output
      .split('\n')
      .find((line) => line.includes('QUEUE_JOB_RETRY') && line.includes(messageId));
    expect(JSON.stringify(JSON.parse(raw ?? '{}'))).toBe(raw);
  });
});
