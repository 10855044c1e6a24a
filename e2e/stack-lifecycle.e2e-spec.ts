import { freePort, waitFor } from '@ser/testing';
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..');

/** Pids of live processes whose environment names this data folder: what that bootstrap started. */
function processesUsing(dataDir: string): number[] {
  const marker = `SER_DATA_DIR=${dataDir}\0`;
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) {
      continue;
    }
    try {
      if (readFileSync(`/proc/${entry}/environ`, 'latin1').includes(marker)) {
        pids.push(Number(entry));
      }
    } catch {
      // The process ended while we looked, or is not ours to read.
    }
  }
  return pids;
}

/**
 * `npm run stack` as a user runs it: it starts its own FerretDB and clamd (MONGO_URL and
 * SER_CLAMD_HOST are not given), the relay answers /readyz, and Ctrl-C (SIGINT to the terminal's
 * process group) leaves no process behind.
 */
describe('npm run stack', () => {
  it('starts the relay with its own database and clamd, and Ctrl-C stops everything it started', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ser-stack-'));
    const adminPort = await freePort();
    const env: NodeJS.ProcessEnv = {
      PATH: process.env['PATH'],
      HOME: process.env['HOME'],
      REDIS_URL: process.env['REDIS_URL'],
      SER_DATA_DIR: dataDir,
      SER_ADMIN_HOST: '127.0.0.1',
      SER_ADMIN_PORT: String(adminPort),
      SER_INGRESS_HOST: '127.0.0.1',
      SER_INGRESS_SUBMISSION_PORT: String(await freePort()),
      SER_INGRESS_SUBMISSIONS_PORT: String(await freePort()),
      SER_LOG_LEVEL: 'warn',
      SER_OPS_BIND: '127.0.0.1',
      SER_OPS_PORT: '0',
    };
    const stack = spawn('npm', ['run', 'stack'], {
      cwd: ROOT,
      env,
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    stack.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<void>((resolve) => stack.on('exit', () => resolve()));
    try {
      await waitFor(
        async () =>
          (await fetch(`http://127.0.0.1:${adminPort}/readyz`).catch(() => undefined))?.status === 200,
        { timeoutMs: 120000, intervalMs: 500, description: () => `stack ready; bootstrap said:\n${stderr}` },
      );
      expect(stderr).toMatch(/starting FerretDB/);
      expect(stderr).toMatch(/starting clamd/);
      expect(processesUsing(dataDir).length).toBeGreaterThanOrEqual(3);
    } finally {
      process.kill(-(stack.pid ?? 0), 'SIGINT');
    }
    await exited;
    await waitFor(() => processesUsing(dataDir).length === 0, {
      timeoutMs: 20000,
      intervalMs: 200,
      description: () => `no process left, still: ${processesUsing(dataDir).join(', ')}`,
    });
    rmSync(dataDir, { recursive: true, force: true });
  });
});
