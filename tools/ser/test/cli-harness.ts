import { createLogger } from '@ser/logger';
import { startServices } from '@ser/runtime';
import type { RunningServices } from '@ser/runtime';
import { adminService } from '@ser/service-admin';
import { relayTestConfig, startDnsServer } from '@ser/testing';
import type { TestDnsServer } from '@ser/testing';
import { MongoClient } from 'mongodb';
import { rmSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import { runCli } from '../src/cli';

/** What one in-process `ser` run printed and returned. */
export interface CliRun {
  code: number;
  stdout: string;
  stderr: string;
}

/** The admin service alone on the real FerretDB and Redis (its own database), with a loopback DNS server. */
export interface CliHarness {
  apiUrl: string;
  token: string;
  dns: TestDnsServer;
  /** Runs `ser <argv>` in this process against the admin service, with the token in SER_API_TOKEN. */
  ser(argv: readonly string[], env?: Record<string, string>): Promise<CliRun>;
  stop(): Promise<void>;
}

function collect(stream: PassThrough): () => string {
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return () => Buffer.concat(chunks).toString('utf8');
}

export async function startCliHarness(): Promise<CliHarness> {
  const dns = await startDnsServer();
  const setup = await relayTestConfig({ SER_DNS_SERVERS: dns.address });
  const { config } = setup;
  let running: RunningServices | undefined = undefined;
  const stop = async (): Promise<void> => {
    await running?.stop();
    const mongo = await MongoClient.connect(config.MONGO_URL);
    await mongo.db(config.mongoDb).dropDatabase();
    await mongo.close();
    await dns.close();
    rmSync(setup.dir, { recursive: true, force: true });
  };
  running = await startServices(
    [adminService],
    config,
    createLogger({ level: config.SER_LOG_LEVEL, pretty: false }),
  );
  const apiUrl = `http://127.0.0.1:${config.SER_ADMIN_PORT}`;
  const ser = async (argv: readonly string[], env: Record<string, string> = {}): Promise<CliRun> => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const out = collect(stdout);
    const err = collect(stderr);
    const code = await runCli(
      argv,
      { SER_API_URL: apiUrl, SER_API_TOKEN: setup.adminToken, ...env },
      { stdout, stderr },
    );
    return { code, stdout: out(), stderr: err() };
  };
  return { apiUrl, token: setup.adminToken, dns, ser, stop };
}
