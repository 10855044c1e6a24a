import type { RelayConfig } from '@ser/config';
import { createLogger } from '@ser/logger';
import { EventPublisher, QueueBus } from '@ser/queue';
import { startServices } from '@ser/runtime';
import type { RunningServices } from '@ser/runtime';
import { connectTestDatabase, relayTestConfig, startTcpProxy, uniqueName, waitFor } from '@ser/testing';
import { reportingService } from '../src/index';

/** The ops endpoint of a real worker process (reporting), on the real Redis and FerretDB. */

interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** The samples of the Prometheus text format (no escaped quotes in the label values used here). */
function parseMetrics(text: string): Sample[] {
  return text
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (match === null) {
        throw new Error(`not a sample line: ${line}`);
      }
      const labels: Record<string, string> = {};
      for (const [, key = '', value = ''] of (match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) {
        labels[key] = value;
      }
      return { name: match[1] ?? '', labels, value: Number(match[3]) };
    });
}

function valueOf(samples: Sample[], name: string, labels: Record<string, string>): number | undefined {
  return samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    ?.value;
}

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const response = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: response.status, body: await response.text() };
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

const silent = createLogger({ level: 'silent', pretty: false });

describe('ops endpoint of a service process', () => {
  let config: RelayConfig;
  let running: RunningServices | undefined;
  let bus: QueueBus | undefined;

  beforeAll(async () => {
    ({ config } = await relayTestConfig({ SER_SERVICES: 'reporting' }));
    running = await startServices([reportingService], config, silent);
    bus = new QueueBus(config.REDIS_URL, config.SER_QUEUE_PREFIX);
  });

  afterAll(async () => {
    await running?.stop();
    await bus?.close();
    const mongo = await connectTestDatabase('ops-endpoint-int-spec', config.mongoDb);
    await mongo.db.dropDatabase();
    await mongo.close();
  });

  it('answers /healthz and /readyz with 200 once the services started and Redis and MongoDB answer', async () => {
    const port = running?.opsPort ?? 0;
    expect(port).toBeGreaterThan(0);
    expect(await get(port, '/healthz')).toEqual({ status: 200, body: '{"status":"ok"}' });
    const ready = await get(port, '/readyz');
    expect(ready.status).toBe(200);
    expect(JSON.parse(ready.body)).toEqual({
      status: 'ready',
      mongo: 'ok',
      redis: 'ok',
      servicesStarting: [],
    });
    expect((await get(port, '/nothing')).status).toBe(404);
  });

  it('counts the events published, times the jobs handled, and reports the depth of its queues', async () => {
    const port = running?.opsPort ?? 0;
    const events = new EventPublisher(bus!);
    const tenantId = uniqueName('tenant');
    await events.publish({
      id: uniqueName('ev'),
      type: 'auth.failed',
      tenantId,
      appId: 'app-1',
      data: { clientIp: '192.0.2.1', reason: 'wrong_secret' },
    });
    // A job due in an hour: nothing takes it during the test, so the delayed count is known.
    const later = {
      id: uniqueName('ev'),
      v: 1,
      type: 'auth.succeeded',
      at: new Date().toISOString(),
      data: {},
    } as const;
    await bus!.enqueue('events', later, later.id, { delay: 3_600_000 });

    const samples = await waitFor(
      async () => {
        const all = parseMetrics((await get(port, '/metrics')).body);
        const handled = valueOf(all, 'ser_stage_duration_seconds_count', { stage: 'events', outcome: 'ok' });
        return handled !== undefined && handled >= 1 && all;
      },
      { timeoutMs: 20_000, description: 'the reporting worker handled the event' },
    );
    expect(valueOf(samples, 'ser_events_total', { type: 'auth.failed', reason: 'wrong_secret' })).toBe(1);
    expect(valueOf(samples, 'ser_queue_jobs', { queue: 'ser.events.v1', state: 'delayed' })).toBe(1);
    expect(valueOf(samples, 'ser_queue_jobs', { queue: 'ser.events.v1', state: 'failed' })).toBe(0);
    expect(valueOf(samples, 'ser_queue_oldest_age_seconds', { queue: 'ser.events.v1' })).toBe(0);
    // Reporting neither works on nor produces to the scan queue.
    expect(valueOf(samples, 'ser_queue_jobs', { queue: 'ser.scan.v1' })).toBeUndefined();
    expect(
      valueOf(samples, 'ser_stage_duration_seconds_bucket', { stage: 'events', le: '+Inf' }),
    ).toBeGreaterThanOrEqual(1);
    // Node.js process metrics, registered once however often services start in this process.
    expect(valueOf(samples, 'process_cpu_user_seconds_total', {})).toBeDefined();
  });

  it('answers /readyz with 503 naming the dependency that stopped answering, and 200 once it is back', async () => {
    const redis = await startTcpProxy({ port: portOf(config.REDIS_URL) });
    const mongo = await startTcpProxy({ port: portOf(config.MONGO_URL) });
    const proxiedMongo = new URL(config.MONGO_URL);
    proxiedMongo.port = String(mongo.port);
    const { config: second } = await relayTestConfig({
      SER_SERVICES: 'reporting',
      REDIS_URL: `redis://127.0.0.1:${redis.port}`,
      MONGO_URL: proxiedMongo.toString(),
    });
    let other: RunningServices | undefined;
    const readyz = async (): Promise<{ status: number; body: Record<string, unknown> }> => {
      const answer = await get(other?.opsPort ?? 0, '/readyz');
      return { status: answer.status, body: JSON.parse(answer.body) as Record<string, unknown> };
    };
    const until = async (status: number, expected: Record<string, unknown>): Promise<void> => {
      const answer = await waitFor(
        async () => {
          const current = await readyz();
          return current.status === status && current;
        },
        { timeoutMs: 15_000, description: `/readyz ${status} with ${JSON.stringify(expected)}` },
      );
      expect(answer.body).toMatchObject(expected);
    };
    try {
      other = await startServices([reportingService], second, silent);
      await until(200, { mongo: 'ok', redis: 'ok' });

      await redis.stop();
      await until(503, { status: 'not_ready', redis: 'unavailable', mongo: 'ok' });
      await mongo.stop();
      await until(503, { status: 'not_ready', redis: 'unavailable', mongo: 'unavailable' });
      const down = await readyz();
      expect(JSON.stringify(down.body)).not.toContain('127.0.0.1');

      await redis.start();
      await mongo.start();
      await until(200, { status: 'ready', mongo: 'ok', redis: 'ok' });
    } finally {
      await redis.start().catch(() => undefined);
      await mongo.start().catch(() => undefined);
      await other?.stop();
      await redis.close();
      await mongo.close();
      const db = await connectTestDatabase('ops-endpoint-int-spec', second.mongoDb);
      await db.db.dropDatabase();
      await db.close();
    }
  });
});
