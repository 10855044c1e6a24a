import { loadConfig } from '@ser/config';
import type { RelayConfig, ServiceName } from '@ser/config';
import { createLogger } from '@ser/logger';
import { startServices } from '@ser/runtime';
import type { RunningServices } from '@ser/runtime';
import { ALL_SERVICES } from '@ser/service-relay';
import { freePort, generateSelfSignedCert, startDnsServer, startSmtpSink, uniqueName } from '@ser/testing';
import type { SmtpSink, TestDnsServer } from '@ser/testing';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The whole relay in this process against the real Redis, FerretDB and clamd that the bootstrap
 * started (REDIS_URL, MONGO_URL, SER_CLAMD_*), with its own database and queue prefix, a DNS
 * server on loopback and an SMTP sink as every recipient's MX.
 */
export interface RelayHarness {
  config: RelayConfig;
  dns: TestDnsServer;
  sink: SmtpSink;
  adminUrl: string;
  adminToken: string;
  submissionPort: number;
  running: RunningServices;
  api<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }>;
  stop(): Promise<void>;
}

export async function startRelayHarness(
  services: readonly ServiceName[] = ALL_SERVICES.map((s) => s.name),
): Promise<RelayHarness> {
  const dir = mkdtempSync(join(tmpdir(), 'ser-e2e-'));
  const tls = generateSelfSignedCert();
  writeFileSync(join(dir, 'cert.pem'), tls.cert);
  writeFileSync(join(dir, 'key.pem'), tls.key);
  const dns = await startDnsServer();
  const sink = await startSmtpSink({ tls, hostname: 'mx.sink.test' });
  const adminToken = randomBytes(32).toString('base64url');
  const [submissionPort, submissionsPort, adminPort] = [await freePort(), await freePort(), await freePort()];
  const config = loadConfig({
    ...process.env,
    SER_SERVICES: services.join(','),
    SER_MONGO_DB: uniqueName('e2e'),
    SER_QUEUE_PREFIX: uniqueName('e2e'),
    SER_HOSTNAME: 'relay.e2e.test',
    SER_INGRESS_HOST: '127.0.0.1',
    SER_INGRESS_SUBMISSION_PORT: String(submissionPort),
    SER_INGRESS_SUBMISSIONS_PORT: String(submissionsPort),
    SER_ADMIN_HOST: '127.0.0.1',
    SER_ADMIN_PORT: String(adminPort),
    SER_ADMIN_TOKEN: adminToken,
    SER_ADMIN_TOKEN_FILE: undefined,
    SER_MASTER_KEY: randomBytes(32).toString('base64'),
    SER_MASTER_KEY_FILE: undefined,
    SER_TLS_CERT_FILE: join(dir, 'cert.pem'),
    SER_TLS_KEY_FILE: join(dir, 'key.pem'),
    SER_DNS_SERVERS: dns.address,
    SER_EGRESS_PORT: String(sink.port),
    SER_LOG_LEVEL: process.env['SER_TEST_LOG_LEVEL'] ?? 'silent',
    SER_LOG_PRETTY: 'false',
  });
  const logger = createLogger({ level: config.SER_LOG_LEVEL, pretty: false });
  const running = await startServices(
    ALL_SERVICES.filter((s) => services.includes(s.name)),
    config,
    logger,
  );
  const adminUrl = `http://127.0.0.1:${adminPort}`;
  return {
    config,
    dns,
    sink,
    adminUrl,
    adminToken,
    submissionPort,
    running,
    api: async <T>(method: string, path: string, body?: unknown) => {
      const response = await fetch(`${adminUrl}${path}`, {
        method,
        headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      return { status: response.status, body: (text === '' ? {} : JSON.parse(text)) as T };
    },
    stop: async () => {
      await running.stop();
      await Promise.all([sink.close(), dns.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
