import { freePort, waitFor } from '@ser/testing';
import { existsSync } from 'node:fs';
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

export function serviceEntry(name: ServiceProcessName): string {
  return join(ROOT, 'dist', 'services', name, 'src', 'main.js');
}

/**
 * Every service as its own process (`dist/services/<name>/src/main.js`), as in production, each
 * with its ops endpoint on a port of its own, so that a restart can wait for its `/readyz`.
 */
export class RelayProcesses {
  private readonly processes = new Map<ServiceProcessName, ManagedProcess>();
  private readonly opsPorts = new Map<ServiceProcessName, number>();

  constructor(
    private readonly env: NodeJS.ProcessEnv,
    private readonly logDir: string,
  ) {}

  /** Starts every service, consumers first, each once ready. */
  async startAll(): Promise<void> {
    for (const name of START_ORDER) {
      const entry = serviceEntry(name);
      if (!existsSync(entry)) {
        throw new Error(`${entry} is missing: run "npm run build" first (npm run test:faults does)`);
      }
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
    await waitFor(
      async () => {
        if (!proc.running) {
          throw new Error(`${name} exited; see ${proc.logFile}`);
        }
        const response = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
        return response?.status === 200;
      },
      { timeoutMs: 60_000, intervalMs: 100, description: `${name} ready (/readyz on ${port})` },
    );
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
