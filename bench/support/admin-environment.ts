import type { RelayConfig } from '@ser/config';
import { createLogger } from '@ser/logger';
import { startServices } from '@ser/runtime';
import type { RunningServices } from '@ser/runtime';
// The admin service as the relay runs it; a benchmark sits above every project, like e2e.
import { adminService } from '@ser/service-admin';
import { relayTestConfig, uniqueName } from '@ser/testing';
import { MongoClient } from 'mongodb';
import type { Db } from 'mongodb';
import { rmSync } from 'node:fs';
import { AdminHttp } from './admin-http';

/** The real admin module on the real Redis and FerretDB, in a database of the benchmark's own. */
export interface AdminEnvironment {
  config: RelayConfig;
  db: Db;
  http: AdminHttp;
  stop(): Promise<void>;
}

/**
 * Starts the admin service with a fresh `bench_<name>_…` database and queue prefix (never a test's
 * or a stack's), from REDIS_URL and MONGO_URL as the bootstrap exports them. `stop` drops the
 * database unless `keep` is set.
 */
export async function startAdminEnvironment(name: string, keep = false): Promise<AdminEnvironment> {
  const setup = await relayTestConfig({
    SER_MONGO_DB: uniqueName(`bench_${name}`),
    SER_QUEUE_PREFIX: uniqueName(`bench_${name}`),
    // A benchmark measures the service, not the admin API's rate limit.
    SER_ADMIN_RATE_LIMIT_PER_MINUTE: '0',
  });
  const { config } = setup;
  let running: RunningServices | undefined;
  let mongo: MongoClient | undefined;
  const stop = async (): Promise<void> => {
    await running?.stop();
    if (!keep) {
      await mongo?.db(config.mongoDb).dropDatabase();
    }
    await mongo?.close();
    rmSync(setup.dir, { recursive: true, force: true });
  };
  try {
    running = await startServices([adminService], config, createLogger({ level: 'warn', pretty: false }));
    mongo = await MongoClient.connect(config.MONGO_URL);
  } catch (error) {
    await stop();
    throw error;
  }
  const http = new AdminHttp(`http://127.0.0.1:${String(config.SER_ADMIN_PORT)}`, setup.adminToken);
  return { config, db: mongo.db(config.mongoDb), http, stop };
}
