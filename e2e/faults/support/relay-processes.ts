import { freePort, waitFor } from '@ser/testing';
import { cpSync, existsSync, mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { ManagedProcess } from './managed-process';

export const WORKERS = ['ingress', 'scanner', 'signer', 'egress', 'reporting'] as const;
export type Worker = (typeof WORKERS)[number];
export type ServiceProcessName = Worker | 'admin';

const ROOT = join(__dirname, '..', '..', '..');
/** Consumers first, then ingress and admin, as the all-in-one relay starts them. */
const START_ORDER: readonly ServiceProcessName[] = [
  'reporting',
  'egress',
  'signer',
  'scanner',
  'ingress',
  'admin',
];

function serviceEntry(root: string, name: ServiceProcessName): string {
  return join(root, 'dist', 'services', name, 'src', 'main.js');
}

/**
 * A private copy of the built relay (dist/libs, dist/services; node_modules linked): dist/ is
 * shared, and a build by someone else during the run would leave a restarted service half-built
 * code to load.
 */
function snapshotBuild(dir: string): string {
  for (const name of ['ingress', 'scanner', 'signer', 'egress', 'reporting', 'admin'] as const) {
    if (!existsSync(serviceEntry(ROOT, name))) {
      throw new Error(
        `${serviceEntry(ROOT, name)} is missing: run "npm run build" first (npm run test:faults does)`,
      );
    }
  }
  mkdirSync(join(dir, 'dist'), { recursive: true });
  cpSync(join(ROOT, 'dist', 'libs'), join(dir, 'dist', 'libs'), { recursive: true });
  cpSync(join(ROOT, 'dist', 'services'), join(dir, 'dist', 'services'), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

/**
 * Every service as its own process (`dist/services/<name>/src/main.js`), as in production, each
 * with its ops endpoint on a port of its own, so that a restart can wait for its `/readyz`.
 */
export class RelayProcesses {
  private readonly processes = new Map<ServiceProcessName, ManagedProcess>();
  private readonly opsPorts = new Map<ServiceProcessName, number>();

  private readonly root: string;

  /** `appDir`: where the copy of the build goes. */
  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly logDir: string,
    appDir: string,
  ) {
    this.root = snapshotBuild(appDir);
  }

  /** Starts every service, consumers first, each once ready. */
  async startAll(): Promise<void> {
    for (const name of START_ORDER) {
      const entry = serviceEntry(this.root, name);
      const opsPort = await freePort();
      this.opsPorts.set(name, opsPort);
      const env = { ...this.env, SER_OPS_BIND: '127.0.0.1', SER_OPS_PORT: String(opsPort) };
      const log = join(this.logDir, `${name}.log`);
      this.processes.set(name, new ManagedProcess(name, process.execPath, [entry], env, log));
      await this.restart(name);
    }
  }

  get(name: ServiceProcessName): ManagedProcess {
    const proc = this.processes.get(name);
    if (proc === undefined) {
      throw new Error(`no process ${name}`);
    }
    return proc;
  }

  /** Starts the service (again) and waits until its `/readyz` answers 200. */
  async restart(name: ServiceProcessName): Promise<void> {
    const proc = this.get(name);
    proc.start();
    const port = this.opsPorts.get(name);
    const ready = waitFor(
      async () => {
        const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
        return response?.status === 200;
      },
      { timeoutMs: 60_000, intervalMs: 100, description: `${name} ready (/readyz on ${port})` },
    );
    const exited = proc.exit.then(() => {
      throw new Error(`${name} exited while starting; see ${proc.logFile}`);
    });
    await Promise.race([ready, exited]);
  }

  /** Kills the service with SIGKILL, waits until it is gone, and starts it again. */
  async crashAndRestart(name: ServiceProcessName): Promise<void> {
    await this.get(name).kill('SIGKILL');
    await this.restart(name);
  }

  async stop(): Promise<void> {
    for (const name of [...START_ORDER].reverse()) {
      await this.processes.get(name)?.stop();
    }
  }
}
