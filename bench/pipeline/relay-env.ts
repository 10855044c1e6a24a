import { loadConfig } from '@ser/config';
import { freePort, generateSelfSignedCert, uniqueName } from '@ser/testing';
import { Redis } from 'ioredis';
import { MongoClient } from 'mongodb';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BenchmarkFailedError } from '../support/benchmark';

export interface RelayEnvOptions {
  /** Private folder for the certificate and secret files. */
  dir: string;
  /** `host:port` of the loopback DNS server. */
  dnsServer: string;
  /** The port every sink MX listens on (egress connects to this port on every MX host). */
  mxPort: number;
  /** Both anti-spam engines (spamscanner in-process, spamd) on, or both off. */
  antiSpam: boolean;
  /** SMTP connections the load generator opens, all from 127.0.0.1. */
  clientConnections: number;
  /** Ingress admission bounds; undefined: the relay's defaults. */
  maxScanBacklog?: number | undefined;
  maxConcurrentData?: number | undefined;
}

/** What the benchmark needs to reach the relay it configured. */
export interface RelayEnv {
  /** The environment of every service process. */
  env: NodeJS.ProcessEnv;
  submissionPort: number;
  adminUrl: string;
  adminToken: string;
  mongoUrl: string;
  mongoDb: string;
  redisUrl: string;
  queuePrefix: string;
  /** The bootstrap's data folder (`$SER_DATA_DIR/run` has the pid files of what it started). */
  dataDir: string;
}

/**
 * The relay's environment for the benchmark: the bootstrap's Redis, MongoDB API, clamd and spamd
 * (REDIS_URL, MONGO_URL, SER_CLAMD_*, SER_SPAMD_*; the clamd defaults when not given), a database
 * and queue prefix of its own, loopback ports, a fresh certificate and secrets (in files, never in
 * the environment), the loopback DNS and MX. Production defaults otherwise, except the limits that would measure a policy instead of
 * the relay: the per-client-IP connection cap (every client is 127.0.0.1) and egress's per-domain
 * rate (1,200 a minute by default), and the admin API's rate limit.
 */
export async function relayEnvironment(options: RelayEnvOptions): Promise<RelayEnv> {
  // The bootstrap's settings, read (and validated) the way every service reads them.
  const given = loadConfig();
  if (options.antiSpam && given.SER_SPAMD_HOST === undefined) {
    throw new BenchmarkFailedError(
      'SER_SPAMD_HOST is not set: the anti-spam run needs spamd (npm run bench starts one)',
    );
  }
  const tls = generateSelfSignedCert();
  const files = {
    cert: join(options.dir, 'cert.pem'),
    key: join(options.dir, 'key.pem'),
    masterKey: join(options.dir, 'master.key'),
    adminToken: join(options.dir, 'admin.token'),
  };
  const adminToken = randomBytes(32).toString('base64url');
  writeFileSync(files.cert, tls.cert);
  writeFileSync(files.key, tls.key, { mode: 0o600 });
  writeFileSync(files.masterKey, randomBytes(32).toString('base64'), { mode: 0o600 });
  writeFileSync(files.adminToken, adminToken, { mode: 0o600 });
  const name = uniqueName('bench_pipeline');
  const [submissionPort, submissionsPort, adminPort] = [await freePort(), await freePort(), await freePort()];
  // Only what the relay needs: nothing else of the benchmark's environment leaks into the services.
  const env: NodeJS.ProcessEnv = {
    REDIS_URL: given.REDIS_URL,
    MONGO_URL: given.MONGO_URL,
    SER_CLAMD_HOST: given.SER_CLAMD_HOST,
    SER_CLAMD_PORT: String(given.SER_CLAMD_PORT),
    SER_MONGO_DB: name,
    SER_QUEUE_PREFIX: name,
    SER_HOSTNAME: 'relay.bench.test',
    SER_LOG_LEVEL: 'warn',
    SER_LOG_PRETTY: 'false',
    SER_OPS_BIND: '127.0.0.1',
    SER_INGRESS_HOST: '127.0.0.1',
    SER_INGRESS_SUBMISSION_PORT: String(submissionPort),
    SER_INGRESS_SUBMISSIONS_PORT: String(submissionsPort),
    SER_INGRESS_MAX_CONNECTIONS_PER_IP: String(options.clientConnections + 10),
    ...(options.maxScanBacklog === undefined
      ? {}
      : { SER_INGRESS_MAX_SCAN_BACKLOG: String(options.maxScanBacklog) }),
    ...(options.maxConcurrentData === undefined
      ? {}
      : { SER_INGRESS_MAX_CONCURRENT_DATA: String(options.maxConcurrentData) }),
    SER_ADMIN_HOST: '127.0.0.1',
    SER_ADMIN_PORT: String(adminPort),
    SER_ADMIN_RATE_LIMIT_PER_MINUTE: '0',
    SER_TLS_CERT_FILE: files.cert,
    SER_TLS_KEY_FILE: files.key,
    SER_MASTER_KEY_FILE: files.masterKey,
    SER_ADMIN_TOKEN_FILE: files.adminToken,
    SER_DNS_SERVERS: options.dnsServer,
    SER_EGRESS_PORT: String(options.mxPort),
    SER_EGRESS_ALLOW_PRIVATE_MX: 'true',
    SER_EGRESS_DOMAIN_RATE_PER_MINUTE: '0',
    SER_SPAMSCANNER_ENABLED: String(options.antiSpam),
    ...(options.antiSpam
      ? { SER_SPAMD_HOST: given.SER_SPAMD_HOST, SER_SPAMD_PORT: String(given.SER_SPAMD_PORT) }
      : {}),
  };
  return {
    env,
    submissionPort,
    adminUrl: `http://127.0.0.1:${String(adminPort)}`,
    adminToken,
    mongoUrl: given.MONGO_URL,
    mongoDb: name,
    redisUrl: given.REDIS_URL,
    dataDir: given.dataDir,
    queuePrefix: name,
  };
}

/** Drops the benchmark's database and every Redis key under its prefix (queues, limits, locks). */
export async function dropRelayData(relay: RelayEnv): Promise<void> {
  const mongo = await MongoClient.connect(relay.mongoUrl);
  try {
    await mongo.db(relay.mongoDb).dropDatabase();
  } finally {
    await mongo.close();
  }
  const redis = new Redis(relay.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 3 });
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${relay.queuePrefix}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) {
        await redis.unlink(...keys);
      }
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}
