import type { ServiceName } from '@ser/config';
import { freePort, waitFor } from '@ser/testing';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { BenchmarkFailedError } from '../support/benchmark';
import { sampleProcess } from './proc-stats';
import type { ProcSample } from './proc-stats';

/** The six services, each started as its own process from its own `main.js`, as in production. */
export const PIPELINE_SERVICES: readonly ServiceName[] = [
  'admin',
  'reporting',
  'egress',
  'signer',
  'scanner',
  'ingress',
];

/** `npm run build` output; this file runs from dist/bench/pipeline. */
const DIST = join(__dirname, '..', '..');

export function serviceEntry(name: ServiceName): string {
  return join(DIST, 'services', name, 'src', 'main.js');
}

export interface RelayProcess {
  name: ServiceName;
  pid: number;
  opsPort: number;
  logFile: string;
}

export interface RelayProcesses {
  readonly processes: readonly RelayProcess[];
  /** CPU and memory of every service process now (a stopped one is left out). */
  sample(): Map<ServiceName, ProcSample>;
  /** Stops every process (SIGTERM, ingress first; SIGKILL after 30 s) and waits for it. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** Environment shared by every process (ports of the ops endpoints are added per process). */
  env: NodeJS.ProcessEnv;
  /** Folder for the processes' logs and CPU profiles. */
  dir: string;
  /** Services started with `--cpu-prof` (the profile is written when the process exits). */
  profile: readonly ServiceName[];
  readyTimeoutMs: number;
}

/**
 * Starts every service as a child process of the benchmark (so /proc has their CPU and memory),
 * logs at `warn` into `<dir>/<service>.log`, and waits until each answers `200` on `/readyz`.
 */
export async function startRelayProcesses(options: StartOptions): Promise<RelayProcesses> {
  const missing = PIPELINE_SERVICES.filter((name) => !existsSync(serviceEntry(name)));
  if (missing.length > 0) {
    throw new BenchmarkFailedError(
      `the services are not built (${missing.map(serviceEntry).join(', ')} missing): run "npm run build" first (npm run bench -- pipeline does)`,
    );
  }
  const children = new Map<ServiceName, ChildProcess>();
  const processes: RelayProcess[] = [];
  // Interrupted (Ctrl-C, a timeout), the benchmark must not leave six relay processes behind.
  const onSignal = (signal: NodeJS.Signals): void => {
    children.forEach((child) => child.kill('SIGTERM'));
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const stop = async (): Promise<void> => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    // Front door first: ingress stops taking mail before the workers behind it go away.
    for (const name of [...PIPELINE_SERVICES].reverse()) {
      const child = children.get(name);
      if (child !== undefined) {
        await stopChild(child);
      }
    }
    children.clear();
  };
  try {
    for (const name of PIPELINE_SERVICES) {
      const opsPort = await freePort();
      const logFile = join(options.dir, `${name}.log`);
      const child = spawnService(name, opsPort, logFile, options);
      children.set(name, child);
      processes.push({ name, pid: child.pid ?? -1, opsPort, logFile });
    }
    await Promise.all(processes.map((p) => waitReady(p, children.get(p.name), options.readyTimeoutMs)));
  } catch (error) {
    await stop();
    throw error;
  }
  return {
    processes,
    sample: () => {
      const samples = new Map<ServiceName, ProcSample>();
      for (const p of processes) {
        const sample = sampleProcess(p.pid);
        if (sample !== undefined) {
          samples.set(p.name, sample);
        }
      }
      return samples;
    },
    stop,
  };
}

function spawnService(
  name: ServiceName,
  opsPort: number,
  logFile: string,
  options: StartOptions,
): ChildProcess {
  const log = openSync(logFile, 'a');
  const profile = options.profile.includes(name)
    ? ['--cpu-prof', `--cpu-prof-dir=${options.dir}`, `--cpu-prof-name=${name}.cpuprofile`]
    : [];
  try {
    return spawn(process.execPath, [...profile, serviceEntry(name)], {
      env: { ...options.env, SER_OPS_PORT: String(opsPort) },
      stdio: ['ignore', log, log],
    });
  } finally {
    // The child has its own copy of the descriptor.
    closeSync(log);
  }
}

async function waitReady(p: RelayProcess, child: ChildProcess | undefined, timeoutMs: number): Promise<void> {
  let stopWatching = (): void => undefined;
  const exited = new Promise<never>((_resolve, reject) => {
    const onExit = (): void => reject(new BenchmarkFailedError(`${p.name} exited during start-up`));
    if (child === undefined || child.exitCode !== null || child.signalCode !== null) {
      onExit();
      return;
    }
    child.once('exit', onExit);
    stopWatching = () => child.off('exit', onExit);
  });
  const ready = waitFor(
    async () => {
      const response = await fetch(`http://127.0.0.1:${String(p.opsPort)}/readyz`).catch(() => undefined);
      return response?.status === 200;
    },
    { timeoutMs, intervalMs: 250, description: `${p.name} ready on /readyz` },
  );
  try {
    await Promise.race([ready, exited]);
  } catch (error) {
    throw new BenchmarkFailedError(
      `${p.name} did not become ready; end of ${p.logFile}:\n${tail(p.logFile)}`,
      {
        cause: error,
      },
    );
  } finally {
    stopWatching();
    // The losing promise must not surface as an unhandled rejection later.
    ready.catch(() => undefined);
    exited.catch(() => undefined);
  }
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-15).join('\n');
  } catch {
    return '(no log)';
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return;
  }
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
  await exited;
  clearTimeout(timer);
}
