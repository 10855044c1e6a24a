import { freePort, waitFor } from '@ser/testing';
import { existsSync, mkdirSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { ManagedProcess } from './managed-process';

/**
 * The suite's own Redis and FerretDB: the machine's shared Redis (6379) and the bootstrap's
 * FerretDB are never touched, since the suite kills and stops these.
 */
export interface DataStore {
  readonly process: ManagedProcess;
  readonly port: number;
  readonly url: string;
  /** Starts it (again, on the same port and data folder) and waits until it answers. */
  start(): Promise<void>;
}

/** Sends `request` and resolves with the first chunk of the reply, or undefined on any failure. */
function exchange(port: number, request: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    const done = (reply: string | undefined): void => {
      socket.destroy();
      resolve(reply);
    };
    socket.setTimeout(2000, () => done(undefined));
    socket.once('error', () => done(undefined));
    socket.once('connect', () => socket.write(request));
    socket.once('data', (chunk: Buffer) => done(chunk.toString('latin1')));
  });
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/**
 * Redis with AOF and `appendfsync always`: docs/operations.md ("What 250 means safe relies on")
 * names it as what closes the window in which a crash loses the last second of acknowledged writes,
 * and the suite checks "nothing lost" across a kill -9 of Redis.
 */
export async function privateRedis(dir: string, logDir: string): Promise<DataStore> {
  const port = await freePort();
  mkdirSync(dir, { recursive: true });
  const args = [
    '--bind', '127.0.0.1', '--port', String(port), '--dir', dir,
    '--appendonly', 'yes', '--appendfsync', 'always', '--save', '',
    '--maxmemory-policy', 'noeviction', '--daemonize', 'no',
  ]; // prettier-ignore
  const proc = new ManagedProcess('redis', 'redis-server', args, process.env, join(logDir, 'redis.log'));
  const store: DataStore = {
    process: proc,
    port,
    url: `redis://127.0.0.1:${port}`,
    start: async () => {
      proc.start();
      // -LOADING while the AOF is replayed; +PONG once it serves.
      await waitFor(async () => (await exchange(port, 'PING\r\n'))?.startsWith('+PONG'), {
        timeoutMs: 30_000,
        intervalMs: 50,
        description: `the suite's Redis answering PING on ${port} (log ${proc.logFile})`,
      });
    },
  };
  await store.start();
  return store;
}

/** The FerretDB binary the bootstrap builds (scripts/install-ferretdb.sh). */
export function ferretDbBinary(): string {
  const version = process.env['SER_FERRETDB_VERSION'] ?? 'v1.24.2';
  const tools = process.env['SER_TOOLS_DIR'] ?? join(homedir(), '.cache', 'secure-email-relay');
  const binary = process.env['SER_FAULTS_FERRETDB_BIN'] ?? join(tools, 'bin', `ferretdb-${version}`);
  if (!existsSync(binary)) {
    throw new Error(
      `FerretDB not found at ${binary}: run the suite through scripts/bootstrap.sh (it builds FerretDB), or set SER_FAULTS_FERRETDB_BIN`,
    );
  }
  return binary;
}

/** FerretDB with its SQLite backend in `dir`, as the bootstrap runs it, on a port of its own. */
export async function privateFerretDb(dir: string, logDir: string): Promise<DataStore> {
  const port = await freePort();
  mkdirSync(join(dir, 'data'), { recursive: true });
  const args = [
    '--handler=sqlite',
    `--sqlite-url=file:${join(dir, 'data')}/`,
    `--listen-addr=127.0.0.1:${port}`,
    '--debug-addr=-',
    '--telemetry=disable',
    `--state-dir=${dir}`,
    '--log-level=WARN',
  ];
  const proc = new ManagedProcess(
    'ferretdb',
    ferretDbBinary(),
    args,
    process.env,
    join(logDir, 'ferretdb.log'),
  );
  const store: DataStore = {
    process: proc,
    port,
    url: `mongodb://127.0.0.1:${port}/ser`,
    start: async () => {
      proc.start();
      await waitFor(() => listening(port), {
        timeoutMs: 60_000,
        intervalMs: 100,
        description: `the suite's FerretDB listening on ${port} (log ${proc.logFile})`,
      });
    },
  };
  await store.start();
  return store;
}
