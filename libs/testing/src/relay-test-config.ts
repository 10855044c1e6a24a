import { loadConfig } from '@ser/config';
import type { RelayConfig } from '@ser/config';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './free-port';
import { generateSelfSignedCert } from './self-signed-cert';
import { uniqueName } from './unique-name';

export interface RelayTestConfig {
  config: RelayConfig;
  /** The certificate the ingress presents; pass it as `ca` to verify, or skip verification. */
  tls: { cert: string; key: string };
  adminToken: string;
  /** Temporary folder holding the certificate files. */
  dir: string;
}

/**
 * A relay configuration for one test file: the real Redis, MongoDB API and clamd from the
 * environment (REDIS_URL, MONGO_URL, SER_CLAMD_*; the bootstrap sets them), a database and a
 * queue prefix of its own, free loopback ports, a fresh certificate, master key and admin token.
 */
export async function relayTestConfig(
  overrides: Record<string, string | undefined> = {},
): Promise<RelayTestConfig> {
  const dir = mkdtempSync(join(tmpdir(), 'ser-test-'));
  const tls = generateSelfSignedCert();
  writeFileSync(join(dir, 'cert.pem'), tls.cert);
  writeFileSync(join(dir, 'key.pem'), tls.key);
  const adminToken = randomBytes(32).toString('base64url');
  const config = loadConfig({
    ...process.env,
    SER_MONGO_DB: uniqueName('t'),
    SER_QUEUE_PREFIX: uniqueName('t'),
    SER_HOSTNAME: 'relay.test',
    SER_INGRESS_HOST: '127.0.0.1',
    SER_INGRESS_SUBMISSION_PORT: String(await freePort()),
    SER_INGRESS_SUBMISSIONS_PORT: String(await freePort()),
    SER_ADMIN_HOST: '127.0.0.1',
    SER_ADMIN_PORT: String(await freePort()),
    SER_ADMIN_TOKEN: adminToken,
    // A free port per process: test files run in parallel, each starting its own ops endpoint.
    SER_OPS_BIND: '127.0.0.1',
    SER_OPS_PORT: '0',
    SER_ADMIN_TOKEN_FILE: undefined,
    SER_MASTER_KEY: randomBytes(32).toString('base64'),
    SER_MASTER_KEY_FILE: undefined,
    SER_TLS_CERT_FILE: join(dir, 'cert.pem'),
    SER_TLS_KEY_FILE: join(dir, 'key.pem'),
    SER_LOG_LEVEL: process.env['SER_TEST_LOG_LEVEL'] ?? 'silent',
    SER_LOG_PRETTY: 'false',
    // The test MX hosts are SMTP sinks on loopback, which production egress refuses (SSRF).
    SER_EGRESS_ALLOW_PRIVATE_MX: 'true',
    ...overrides,
  });
  return { config, tls, adminToken, dir };
}
