import { freePort, relayTestConfig, waitFor } from '@ser/testing';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';

const ENTRY = join(__dirname, '..', 'dist', 'services', 'relay', 'src', 'main.js');

interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
  stderr: string;
  stdout: string;
}

function run(env: NodeJS.ProcessEnv): { child: ChildProcess; exited: Promise<Exit> } {
  const child = spawn(process.execPath, [ENTRY], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<Exit>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  return { child, exited };
}

function connectError(port: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(undefined);
    });
    socket.once('error', (error: NodeJS.ErrnoException) => resolve(error.code));
  });
}

/** The built all-in-one entry point, as `npm run stack` and the Docker image run it. */
describe('the relay process (dist/services/relay/src/main.js)', () => {
  beforeAll(() => {
    if (!existsSync(ENTRY)) {
      throw new Error(`${ENTRY} is missing: run "npm run build" before the e2e tests`);
    }
  });

  it('refuses to start on invalid configuration, naming every bad variable', async () => {
    const { exited } = run({
      ...process.env,
      SER_ADMIN_PORT: 'eighty',
      REDIS_URL: 'not a url',
      SER_SERVICES: 'ingress,mailer',
    });
    const exit = await exited;

    expect(exit.code).toBe(1);
    expect(exit.stderr).toContain('SER_ADMIN_PORT');
    expect(exit.stderr).toContain('REDIS_URL');
    expect(exit.stderr).toContain('SER_SERVICES');
  });

  it('runs the services named in SER_SERVICES, reports ready, and exits cleanly on SIGTERM', async () => {
    const { config, adminToken } = await relayTestConfig();
    const adminPort = await freePort();
    const submissionPort = await freePort();
    const { child, exited } = run({
      ...process.env,
      SER_SERVICES: 'admin,reporting',
      SER_MONGO_DB: config.mongoDb,
      SER_QUEUE_PREFIX: config.SER_QUEUE_PREFIX,
      SER_ADMIN_HOST: '127.0.0.1',
      SER_ADMIN_PORT: String(adminPort),
      SER_ADMIN_TOKEN: adminToken,
      SER_ADMIN_TOKEN_FILE: '',
      SER_MASTER_KEY: config.SER_MASTER_KEY,
      SER_MASTER_KEY_FILE: '',
      SER_INGRESS_SUBMISSION_PORT: String(submissionPort),
      SER_LOG_LEVEL: 'info',
    });
    try {
      const ready = await waitFor(
        async () => {
          const response = await fetch(`http://127.0.0.1:${adminPort}/readyz`).catch(() => undefined);
          return response?.status === 200 ? ((await response.json()) as Record<string, unknown>) : undefined;
        },
        { timeoutMs: 30000, intervalMs: 200, description: 'relay /readyz' },
      );
      expect(ready).toMatchObject({ status: 'ready', mongo: 'ok', redis: 'ok', servicesStarting: [] });
      // Ingress was not selected, so nothing listens on its port.
      expect(await connectError(submissionPort)).toBe('ECONNREFUSED');
    } finally {
      child.kill('SIGTERM');
    }
    const exit = await exited;
    expect(exit).toMatchObject({ code: 0, signal: null });
    const codes = exit.stdout
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => (JSON.parse(line) as { code?: string; service?: string }).code);
    expect(codes).toEqual(
      expect.arrayContaining(['RUNTIME_READY', 'RUNTIME_STOPPING', 'RUNTIME_SERVICE_STOPPED']),
    );
    expect(exit.stdout).not.toContain(adminToken);
  });
});
