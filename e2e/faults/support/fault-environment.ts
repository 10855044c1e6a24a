import { connectMongo } from '@ser/mongo';
import type { MongoConnection } from '@ser/mongo';
import { QueueBus } from '@ser/queue';
import { freePort, generateSelfSignedCert, startDnsServer, startSmtpSink } from '@ser/testing';
import type { SmtpSink, TestDnsServer } from '@ser/testing';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { privateFerretDb, privateRedis } from './data-stores';
import type { DataStore } from './data-stores';
import { startMxSwitch } from './mx-switch';
import type { MxSwitch } from './mx-switch';
import { onboardTenant } from './onboard';
import type { FaultTenant } from './onboard';
import { RelayProcesses } from './relay-processes';
import { SinkLedger } from './sink-ledger';

export const RECIPIENT_DOMAINS = ['dest-a.test', 'dest-b.test'] as const;
const DATABASE = 'faults';
const QUEUE_PREFIX = 'faults';

/** Everything the suite runs: its own Redis and FerretDB, the relay's six processes, DNS, the MX. */
export interface FaultEnvironment {
  readonly dir: string;
  readonly redis: DataStore;
  readonly ferretdb: DataStore;
  readonly relay: RelayProcesses;
  readonly dns: TestDnsServer;
  readonly sink: SmtpSink;
  readonly ledger: SinkLedger;
  readonly mx: MxSwitch;
  readonly mongo: MongoConnection;
  readonly bus: QueueBus;
  readonly tenant: FaultTenant;
  readonly submissionPort: number;
  /** Stops everything; the folder (logs, results, the Redis and database files) stays for analysis. */
  close(): Promise<void>;
}

/**
 * Settings that keep the suite within minutes: short job locks (a killed worker's job moves on after
 * 5 s), short MX timeouts and retry delays, a frequent reconciler and sweeper. AV on (clamd from the
 * bootstrap); the anti-spam engines off, so that a scanner restarts in seconds on two cores.
 */
function relayEnv(settings: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!/^(SER_|REDIS_URL|MONGO_URL)/.test(name)) {
      env[name] = value;
    }
  }
  const clamdHost = process.env['SER_CLAMD_HOST'];
  if (clamdHost === undefined || clamdHost === '') {
    throw new Error(
      'SER_CLAMD_HOST is not set: run the suite through scripts/bootstrap.sh (npm run test:faults does not start clamd)',
    );
  }
  return {
    ...env,
    SER_CLAMD_HOST: clamdHost,
    SER_CLAMD_PORT: process.env['SER_CLAMD_PORT'] ?? '3310',
    SER_SPAMSCANNER_ENABLED: 'false',
    SER_LOG_LEVEL: process.env['SER_FAULTS_LOG_LEVEL'] ?? 'info',
    SER_LOG_PRETTY: 'false',
    SER_MONGO_DB: DATABASE,
    SER_QUEUE_PREFIX: QUEUE_PREFIX,
    SER_HOSTNAME: 'relay.faults.test',
    SER_QUEUE_LOCK_MS: '5000',
    SER_INGRESS_HOST: '127.0.0.1',
    SER_INGRESS_SWEEP_INTERVAL_MS: '5000',
    SER_INGRESS_SWEEP_GRACE_MS: '30000',
    SER_ADMIN_HOST: '127.0.0.1',
    SER_EGRESS_ALLOW_PRIVATE_MX: 'true',
    SER_EGRESS_CONNECT_TIMEOUT_MS: '3000',
    SER_EGRESS_GREETING_TIMEOUT_MS: '3000',
    SER_EGRESS_COMMAND_TIMEOUT_MS: '5000',
    SER_EGRESS_DATA_TIMEOUT_MS: '10000',
    SER_EGRESS_RETRY_SCHEDULE: '2s,4s',
    SER_EGRESS_RETRY_JITTER: '0',
    SER_EGRESS_MAX_AGE: '1h',
    SER_EGRESS_RECONCILE_INTERVAL_MS: '10000',
    SER_EGRESS_RECONCILE_GRACE_MS: '30000',
    ...settings,
  };
}

export async function startFaultEnvironment(): Promise<FaultEnvironment> {
  const dir = mkdtempSync(join(tmpdir(), 'ser-faults-'));
  const logs = join(dir, 'logs');
  mkdirSync(logs);
  // What is running so far, stopped in reverse order if a later step fails (or at the end).
  const closers: (() => Promise<unknown>)[] = [];
  const closeAll = async (): Promise<void> => {
    for (const close of closers.reverse()) {
      await close().catch(() => undefined);
    }
  };
  try {
    const redis = await privateRedis(join(dir, 'redis'), logs);
    closers.push(() => redis.process.stop());
    const ferretdb = await privateFerretDb(join(dir, 'ferretdb'), logs);
    closers.push(() => ferretdb.process.stop());
    const dns = await startDnsServer();
    closers.push(() => dns.close());
    const tls = generateSelfSignedCert();
    writeFileSync(join(dir, 'cert.pem'), tls.cert);
    writeFileSync(join(dir, 'key.pem'), tls.key);
    const sink = await startSmtpSink({ tls, hostname: 'mx.sink.test' });
    closers.push(() => sink.close());
    // The scripted permanent failure: every `reject-…` recipient bounces (a final outcome, not a loss).
    sink.setReply((rcpt) =>
      rcpt.startsWith('reject-') ? { code: 550, message: '5.1.1 No such user' } : undefined,
    );
    const mx = await startMxSwitch(sink.port);
    closers.push(() => mx.close());
    for (const domain of RECIPIENT_DOMAINS) {
      dns.set(domain, 'MX', [{ preference: 10, exchange: `mx.${domain}` }]);
      dns.set(`mx.${domain}`, 'A', ['127.0.0.1']);
    }
    const adminToken = randomBytes(32).toString('base64url');
    const submissionPort = await freePort();
    const adminPort = await freePort();
    const env = relayEnv({
      REDIS_URL: redis.url,
      MONGO_URL: ferretdb.url,
      SER_TLS_CERT_FILE: join(dir, 'cert.pem'),
      SER_TLS_KEY_FILE: join(dir, 'key.pem'),
      SER_MASTER_KEY: randomBytes(32).toString('base64'),
      SER_ADMIN_TOKEN: adminToken,
      SER_ADMIN_PORT: String(adminPort),
      SER_INGRESS_SUBMISSION_PORT: String(submissionPort),
      SER_INGRESS_SUBMISSIONS_PORT: String(await freePort()),
      SER_DNS_SERVERS: dns.address,
      SER_EGRESS_PORT: String(mx.port),
    });
    const mongo = await connectMongo({
      url: ferretdb.url,
      dbName: DATABASE,
      writeConcern: '1',
      appName: 'faults-audit',
    });
    closers.push(() => mongo.close());
    const bus = new QueueBus(redis.url, QUEUE_PREFIX);
    closers.push(() => bus.close());
    const relay = new RelayProcesses(env, logs, join(dir, 'app'));
    closers.push(() => relay.stop());
    await relay.startAll();
    const tenant = await onboardTenant(`http://127.0.0.1:${adminPort}`, adminToken, dns, 'acme-faults.test');
    return {
      dir,
      redis,
      ferretdb,
      relay,
      dns,
      sink,
      ledger: new SinkLedger(sink),
      mx,
      mongo,
      bus,
      tenant,
      submissionPort,
      close: closeAll,
    };
  } catch (error) {
    await closeAll();
    throw error;
  }
}
