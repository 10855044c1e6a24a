import { readFileSync, readdirSync } from 'node:fs';

/**
 * Linux's USER_HZ: /proc/<pid>/stat counts CPU time in these ticks. 100 on every mainstream
 * architecture (the kernel's ABI fixes it for user space, whatever CONFIG_HZ is).
 */
const TICKS_PER_SECOND = 100;

/** CPU used so far and memory of one process, from /proc. */
export interface ProcSample {
  /** User + system CPU time, in milliseconds (10 ms resolution). */
  cpuMs: number;
  /** Peak resident set size (VmHWM), in MiB. */
  peakRssMiB: number;
  /** Resident set size now (VmRSS), in MiB. */
  rssMiB: number;
}

/** The fields after the command name of /proc/<pid>/stat (the name may hold spaces). */
function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(') ') + 2).split(' ');
  } catch {
    return undefined;
  }
}

function statusKiB(pid: number, field: string): number {
  try {
    const status = readFileSync(`/proc/${String(pid)}/status`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return match?.[1] === undefined ? 0 : Number(match[1]);
  } catch {
    return 0;
  }
}

/** One process's CPU and memory now; undefined once it is gone. */
export function sampleProcess(pid: number): ProcSample | undefined {
  const fields = statFields(pid);
  // After the name: state(0) ppid(1) pgrp(2) … utime(11) stime(12).
  const utime = Number(fields?.[11]);
  const stime = Number(fields?.[12]);
  if (fields === undefined || Number.isNaN(utime) || Number.isNaN(stime)) {
    return undefined;
  }
  return {
    cpuMs: ((utime + stime) * 1000) / TICKS_PER_SECOND,
    peakRssMiB: Math.round(statusKiB(pid, 'VmHWM') / 102.4) / 10,
    rssMiB: Math.round(statusKiB(pid, 'VmRSS') / 102.4) / 10,
  };
}

/**
 * A process group's CPU and memory: the sum of its live members (spamd forks children that come
 * and go; a child's CPU is lost when it exits, so a group's CPU is a lower bound), and the largest
 * member's peak RSS.
 */
export function sampleGroup(pgid: number): ProcSample | undefined {
  let found = false;
  const total: ProcSample = { cpuMs: 0, peakRssMiB: 0, rssMiB: 0 };
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) {
      continue;
    }
    const pid = Number(entry);
    if (statFields(pid)?.[2] !== String(pgid)) {
      continue;
    }
    const sample = sampleProcess(pid);
    if (sample !== undefined) {
      found = true;
      total.cpuMs += sample.cpuMs;
      total.rssMiB += sample.rssMiB;
      total.peakRssMiB = Math.max(total.peakRssMiB, sample.peakRssMiB);
    }
  }
  return found ? total : undefined;
}

/** The load averages, for the results' machine state. */
export function loadAverage(): { load1: number; load5: number; load15: number } {
  const [load1, load5, load15] = readFileSync('/proc/loadavg', 'utf8').split(' ').map(Number);
  return { load1: load1 ?? Number.NaN, load5: load5 ?? Number.NaN, load15: load15 ?? Number.NaN };
}

/** Total CPU ticks of the machine (all CPUs, all states but idle and iowait), in milliseconds. */
export function machineBusyMs(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const [, ...ticks] = line.trim().split(/\s+/).map(Number);
  // cpu  user nice system idle iowait irq softirq steal guest guest_nice (guest is inside user).
  const notBusy = new Set([3, 4, 8, 9]);
  const busy = ticks.reduce((sum, t, i) => (notBusy.has(i) ? sum : sum + (t ?? 0)), 0);
  return (busy * 1000) / TICKS_PER_SECOND;
}

function commOf(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${String(pid)}/stat`, 'utf8');
    return stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(') '));
  } catch {
    return undefined;
  }
}

function add(total: ProcSample | undefined, sample: ProcSample): ProcSample {
  return total === undefined
    ? { ...sample }
    : {
        cpuMs: total.cpuMs + sample.cpuMs,
        rssMiB: total.rssMiB + sample.rssMiB,
        peakRssMiB: Math.max(total.peakRssMiB, sample.peakRssMiB),
      };
}

/**
 * PostgreSQL's CPU and memory, in two parts: the backends serving `database` (process title
 * `postgres: [cluster: ]user database host(port) state`) and the rest of the server (the
 * postmaster, its background processes, other databases' backends). The postmaster is a `postgres`
 * process whose parent is not one; every PostgreSQL process is its child (each in a session of its
 * own, so not a process group). A backend's CPU is lost when it exits (FerretDB keeps a pool open).
 * Undefined parts: nothing found (no PostgreSQL, or /proc not readable).
 */
export function samplePostgres(database: string): { backends?: ProcSample; server?: ProcSample } {
  const pids = readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .map(Number)
    .filter((pid) => commOf(pid) === 'postgres');
  const postgres = new Set(pids);
  const parentOf = (pid: number): number => Number(statFields(pid)?.[1]);
  const postmasters = new Set(pids.filter((pid) => !postgres.has(parentOf(pid))));
  let backends: ProcSample | undefined;
  let server: ProcSample | undefined;
  for (const pid of pids) {
    const sample = sampleProcess(pid);
    if (sample === undefined || (!postmasters.has(pid) && !postmasters.has(parentOf(pid)))) {
      continue;
    }
    let title = '';
    try {
      title = readFileSync(`/proc/${String(pid)}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      // gone
    }
    if (!postmasters.has(pid) && new RegExp(`^postgres: (?:\\S+: )?\\S+ ${database} `).test(title)) {
      backends = add(backends, sample);
    } else {
      server = add(server, sample);
    }
  }
  return { ...(backends === undefined ? {} : { backends }), ...(server === undefined ? {} : { server }) };
}
