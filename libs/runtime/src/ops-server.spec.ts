import { createLogger } from '@ser/logger';
import { Counter, Registry } from 'prom-client';
import { startOpsServer } from './ops-server';
import type { OpsServer } from './ops-server';
import type { ReadinessReport } from './process-readiness';

describe('ops server', () => {
  const registry = new Registry();
  new Counter({ name: 'test_things_total', help: 'things', registers: [registry] }).inc(3);
  let report: ReadinessReport = {
    ready: true,
    body: { status: 'ready', mongo: 'ok', redis: 'ok', servicesStarting: [] },
  };
  let server: OpsServer;
  const get = async (path: string, method = 'GET') => {
    const response = await fetch(`http://127.0.0.1:${server.port}${path}`, { method });
    return {
      status: response.status,
      type: response.headers.get('content-type'),
      text: await response.text(),
    };
  };

  beforeAll(async () => {
    server = await startOpsServer({
      host: '127.0.0.1',
      port: 0,
      readiness: () => Promise.resolve(report),
      registry,
      logger: createLogger({ level: 'silent', pretty: false }),
    });
  });

  afterAll(async () => {
    await server.close();
  });

  it('answers /healthz with 200 on a port of its own', async () => {
    expect(server.port).toBeGreaterThan(0);
    expect(await get('/healthz')).toMatchObject({ status: 200, text: '{"status":"ok"}' });
  });

  it('answers /readyz with 200 or 503 and the report', async () => {
    expect((await get('/readyz')).status).toBe(200);
    report = {
      ready: false,
      body: { status: 'not_ready', mongo: 'unavailable', redis: 'ok', servicesStarting: [] },
    };
    const notReady = await get('/readyz?verbose');
    expect(notReady.status).toBe(503);
    expect(JSON.parse(notReady.text)).toEqual(report.body);
  });

  it('serves the registry in the Prometheus text format on /metrics', async () => {
    const metrics = await get('/metrics');
    expect(metrics.status).toBe(200);
    expect(metrics.type).toContain('text/plain');
    expect(metrics.text).toContain('test_things_total 3');
  });

  it('answers 404 to anything else', async () => {
    expect((await get('/')).status).toBe(404);
    expect((await get('/metrics/x')).status).toBe(404);
    expect((await get('/healthz', 'POST')).status).toBe(404);
  });

  it('can be closed twice', async () => {
    const other = await startOpsServer({
      host: '127.0.0.1',
      port: 0,
      readiness: () => Promise.resolve(report),
      registry,
      logger: createLogger({ level: 'silent', pretty: false }),
    });
    await Promise.all([other.close(), other.close()]);
  });
});
