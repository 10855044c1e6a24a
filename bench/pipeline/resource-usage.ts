import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ExternalDependencies } from './pipeline-settings';
import { machineBusyMs, sampleGroup, samplePostgres } from './proc-stats';
import type { ProcSample } from './proc-stats';
import type { RelayProcesses } from './relay-processes';

/** The dependencies the bootstrap starts, by the name of their pid file in `$SER_DATA_DIR/run`. */
const DEPENDENCIES = ['redis', 'ferretdb', 'clamd', 'spamd'] as const;

/** CPU and memory of everything that takes part, at one moment. */
export interface ResourceSnapshot {
  services: Map<string, ProcSample>;
  dependencies: Map<string, ProcSample>;
  /** The benchmark process itself: clients, sinks, DNS. */
  benchmarkCpuMs: number;
  machineBusyMs: number;
}

export interface ProcessUsage {
  process: string;
  role: 'service' | 'dependency' | 'benchmark' | 'other';
  cpuS: number;
  cpuMsPerMessage: number;
  /** Peak RSS over the process's life (VmHWM); for a group, its largest member. */
  peakRssMiB?: number;
}

export interface ResourceUsage {
  processes: ProcessUsage[];
  servicesCpuMsPerMessage: number;
  /** Services plus the dependencies the bootstrap started (Redis, FerretDB, clamd, spamd). */
  relayCpuMsPerMessage: number;
  /** Dependencies not measured: not started by this bootstrap (shared with others). */
  unmeasured: string[];
}

/** Each dependency's process group leader, when the bootstrap of $SER_DATA_DIR started it. */
function dependencyGroups(dataDir: string): Map<string, number> {
  const groups = new Map<string, number>();
  for (const name of DEPENDENCIES) {
    const file = join(dataDir, 'run', `${name}.pid`);
    if (existsSync(file)) {
      const pid = Number(readFileSync(file, 'utf8').split(' ')[0]);
      if (Number.isInteger(pid) && pid > 0) {
        groups.set(name, pid);
      }
    }
  }
  return groups;
}

/**
 * `dataDir`: the bootstrap's data folder, whose `run/*.pid` name the dependencies it started;
 * `external`: a FerretDB and PostgreSQL started by hand (`--ferretdb-pid`, `--postgres-db`).
 */
export function snapshot(
  relay: RelayProcesses,
  dataDir: string,
  external: ExternalDependencies = {},
): ResourceSnapshot {
  const dependencies = new Map<string, ProcSample>();
  const groups = dependencyGroups(dataDir);
  if (external.ferretdbPid !== undefined) {
    groups.set('ferretdb', external.ferretdbPid);
  }
  if (external.postgresDb !== undefined) {
    const postgres = samplePostgres(external.postgresDb);
    if (postgres.backends !== undefined) {
      dependencies.set(`postgres (${external.postgresDb} backends)`, postgres.backends);
    }
    if (postgres.server !== undefined) {
      dependencies.set('postgres (rest of the server)', postgres.server);
    }
  }
  for (const [name, pgid] of groups) {
    const sample = sampleGroup(pgid);
    if (sample !== undefined) {
      dependencies.set(name, sample);
    }
  }
  const self = process.cpuUsage();
  return {
    services: relay.sample(),
    dependencies,
    benchmarkCpuMs: (self.user + self.system) / 1000,
    machineBusyMs: machineBusyMs(),
  };
}

/** CPU between two snapshots, per process and per delivered message. */
export function resourceUsage(
  before: ResourceSnapshot,
  after: ResourceSnapshot,
  delivered: number,
  antiSpam: boolean,
): ResourceUsage {
  const perMessage = (ms: number): number => Math.round((ms / Math.max(1, delivered)) * 100) / 100;
  const rows: ProcessUsage[] = [];
  const add = (
    role: ProcessUsage['role'],
    name: string,
    a: ProcSample | undefined,
    b: ProcSample | undefined,
  ): number => {
    if (a === undefined || b === undefined) {
      return 0;
    }
    const ms = Math.max(0, b.cpuMs - a.cpuMs);
    rows.push({
      process: name,
      role,
      cpuS: Math.round(ms) / 1000,
      cpuMsPerMessage: perMessage(ms),
      peakRssMiB: b.peakRssMiB,
    });
    return ms;
  };
  let services = 0;
  for (const [name, sample] of after.services) {
    services += add('service', name, before.services.get(name), sample);
  }
  let dependencies = 0;
  for (const [name, sample] of after.dependencies) {
    dependencies += add('dependency', name, before.dependencies.get(name), sample);
  }
  const benchmark = after.benchmarkCpuMs - before.benchmarkCpuMs;
  rows.push({
    process: 'benchmark (clients, sinks, DNS)',
    role: 'benchmark',
    cpuS: Math.round(benchmark) / 1000,
    cpuMsPerMessage: perMessage(benchmark),
  });
  const other = Math.max(0, after.machineBusyMs - before.machineBusyMs - services - dependencies - benchmark);
  rows.push({
    process: 'everything else on the machine',
    role: 'other',
    cpuS: Math.round(other) / 1000,
    cpuMsPerMessage: perMessage(other),
  });
  const wanted = antiSpam ? DEPENDENCIES : DEPENDENCIES.filter((d) => d !== 'spamd');
  return {
    processes: rows,
    servicesCpuMsPerMessage: perMessage(services),
    relayCpuMsPerMessage: perMessage(services + dependencies),
    unmeasured: wanted.filter((d) => !after.dependencies.has(d)),
  };
}
