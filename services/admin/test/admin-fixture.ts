import type { RelayConfig } from '@ser/config';
import { createLogger } from '@ser/logger';
import { startServices } from '@ser/runtime';
import type { RunningServices } from '@ser/runtime';
import { relayTestConfig, startDnsServer } from '@ser/testing';
import type { RelayTestConfig, TestDnsServer } from '@ser/testing';
import { MongoClient } from 'mongodb';
import type { Db } from 'mongodb';
import { rmSync } from 'node:fs';
import { adminService } from '../src/index';
import { AdminClient } from './admin-client';
import type { ApiResponse, ProblemBody } from './admin-client';

/** The admin service alone, on the real FerretDB and Redis (a database of its own), with a loopback DNS server. */
export interface AdminFixture {
  setup: RelayTestConfig;
  config: RelayConfig;
  dns: TestDnsServer;
  db: Db;
  api: AdminClient;
  stop(): Promise<void>;
}

/** `overrides` are settings of this fixture's relay configuration (`SER_RELAY_SENDING_IPS`...). */
export async function startAdminFixture(overrides: Record<string, string> = {}): Promise<AdminFixture> {
  const dns = await startDnsServer();
  const setup = await relayTestConfig({ SER_DNS_SERVERS: dns.address, ...overrides });
  const { config } = setup;
  let running: RunningServices | undefined;
  let mongo: MongoClient | undefined;
  const stop = async (): Promise<void> => {
    await running?.stop();
    await mongo?.db(config.mongoDb).dropDatabase();
    await mongo?.close();
    await dns.close();
    rmSync(setup.dir, { recursive: true, force: true });
  };
  try {
    running = await startServices(
      [adminService],
      config,
      createLogger({ level: config.SER_LOG_LEVEL, pretty: false }),
    );
    mongo = await MongoClient.connect(config.MONGO_URL);
  } catch (error) {
    await stop();
    throw error;
  }
  const api = new AdminClient(`http://127.0.0.1:${config.SER_ADMIN_PORT}`, setup.adminToken);
  return { setup, config, dns, db: mongo.db(config.mongoDb), api, stop };
}

const PROBLEMS = 'https://ser.dev/problems/';

/** Asserts an RFC 9457 problem of this status and kind (the last segment of its `type`). */
export function expectProblem(response: ApiResponse<unknown>, status: number, kind: string): ProblemBody {
  expect(response.contentType).toMatch(/^application\/problem\+json\b/);
  const problem = response.body as ProblemBody;
  expect(problem).toMatchObject({ type: `${PROBLEMS}${kind}`, status });
  expect(typeof problem.title).toBe('string');
  expect(response.status).toBe(status);
  return problem;
}
