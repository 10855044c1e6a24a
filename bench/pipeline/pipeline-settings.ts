import type { ServiceName } from '@ser/config';
import { BenchmarkFailedError } from '../support/benchmark';
import { PIPELINE_SERVICES } from './relay-processes';

/** `npm run bench -- pipeline --name=value …`, parsed; docs/performance.md lists them. */
export interface PipelineSettings {
  mode: 'fixed' | 'max' | 'overload';
  /** Anti-spam engines off, on, or one run of each (off first). */
  antiSpam: readonly boolean[];
  /** fixed: offered messages per second and for how long; overload: the base rate and the overload's length. */
  rate: number;
  durationS: number;
  /** Whether `--rate` was given (overload without it takes the max search's result as the base). */
  rateGiven: boolean;
  /** overload: offered rate = factor × base rate. */
  factor: number;
  /** overload: the low rate after the overload (default: half the base rate, at least 1/s), for at most recoveryS. */
  recoveryRate: number | undefined;
  recoveryS: number;
  /** Ingress admission bounds given to the relay (undefined: the relay's defaults). */
  maxScanBacklog: number | undefined;
  maxConcurrentData: number | undefined;
  /** Client socket inactivity timeout (nodemailer `socketTimeout`). */
  clientTimeoutS: number;
  /** max: the first rate, the increase per step, each step's length, and the most steps. */
  startRate: number;
  stepRate: number;
  stepS: number;
  maxSteps: number;
  /** Unmeasured sending first (connections, JIT, caches), at the first rate. */
  warmupS: number;
  /** Longest wait, after sending, for the accepted messages to reach the sinks. */
  drainS: number;
  size: number | 'mix';
  clients: number;
  domains: number;
  mxHosts: number;
  /** Services run with `--cpu-prof`; their top functions go into the results. */
  profile: ServiceName[];
  keep: boolean;
  /** Dependencies started outside the bootstrap, measured too (docs/performance.md). */
  external: ExternalDependencies;
}

/**
 * A FerretDB (given by MONGO_URL, so not started by the bootstrap) and a PostgreSQL under it, whose
 * CPU the benchmark should count: FerretDB by its process group, PostgreSQL by its backends serving
 * one database and the rest of its server.
 */
export interface ExternalDependencies {
  /** `--ferretdb-pid=N`: the process group leader of a FerretDB started by hand. */
  ferretdbPid?: number;
  /** `--postgres-db=NAME`: the PostgreSQL database FerretDB stores into (`--postgresql-url`). */
  postgresDb?: string;
}

export function parsePipelineSettings(settings: Record<string, string>): PipelineSettings {
  const int = (name: string, fallback: number, min = 1): number => {
    const value = settings[name];
    const n = value === undefined ? fallback : Number(value);
    if (!Number.isInteger(n) || n < min) {
      throw new BenchmarkFailedError(`--${name} must be a whole number of at least ${String(min)}`);
    }
    return n;
  };
  const optionalInt = (name: string): number | undefined =>
    settings[name] === undefined ? undefined : int(name, 1);
  const mode = settings['mode'] ?? 'fixed';
  if (mode !== 'fixed' && mode !== 'max' && mode !== 'overload') {
    throw new BenchmarkFailedError('--mode must be fixed, max or overload');
  }
  const factor = Number(settings['factor'] ?? '1.5');
  if (!Number.isFinite(factor) || factor <= 1 || factor > 20) {
    throw new BenchmarkFailedError('--factor must be a number above 1 (and at most 20)');
  }
  const rate = int('rate', 10);
  const rateGiven = settings['rate'] !== undefined;
  const as = settings['as'] ?? 'both';
  const antiSpam = { off: [false], on: [true], both: [false, true] }[as];
  if (antiSpam === undefined) {
    throw new BenchmarkFailedError('--as must be off, on or both');
  }
  const profile = (settings['profile'] ?? '').split(',').filter((s) => s !== '');
  const unknown = profile.filter((s) => !(PIPELINE_SERVICES as readonly string[]).includes(s));
  if (unknown.length > 0) {
    throw new BenchmarkFailedError(`--profile: unknown service ${unknown.join(', ')}`);
  }
  return {
    mode,
    antiSpam,
    rate,
    durationS: int('duration', 30),
    rateGiven,
    factor,
    recoveryRate: optionalInt('recovery-rate'),
    recoveryS: int('recovery-seconds', 60),
    // overload with a given rate: a backlog bound of 10 s of work at that rate, so that the bound is
    // reached in a short run and drains well within the 60 s recovery (docs/performance.md).
    maxScanBacklog:
      optionalInt('max-scan-backlog') ??
      (mode === 'overload' && rateGiven ? Math.max(10, rate * 10) : undefined),
    maxConcurrentData: optionalInt('max-concurrent-data'),
    clientTimeoutS: int('client-timeout-seconds', 120),
    startRate: int('start-rate', 10),
    stepRate: int('step-rate', 10),
    stepS: int('step-seconds', 15),
    maxSteps: int('max-steps', 10),
    warmupS: int('warmup-seconds', 5, 0),
    drainS: int('drain-seconds', 120),
    size: parseSize(settings['size'] ?? '10k'),
    clients: int('clients', 16),
    domains: int('domains', 8),
    mxHosts: Math.min(int('mx', 2), 200),
    profile: profile as ServiceName[],
    keep: settings['keep'] === 'true',
    external: externalDependencies(settings),
  };
}

function externalDependencies(settings: Record<string, string>): ExternalDependencies {
  const external: ExternalDependencies = {};
  const pid = settings['ferretdb-pid'];
  if (pid !== undefined) {
    const n = Number(pid);
    if (!Number.isInteger(n) || n < 1) {
      throw new BenchmarkFailedError('--ferretdb-pid must be a process id');
    }
    external.ferretdbPid = n;
  }
  const db = settings['postgres-db'];
  if (db !== undefined) {
    if (!/^[\w-]+$/.test(db)) {
      throw new BenchmarkFailedError('--postgres-db must be a database name (letters, digits, _ and -)');
    }
    external.postgresDb = db;
  }
  return external;
}

/** `10240`, `10k` (KiB) or `mix` (2–50 KiB). */
function parseSize(value: string): number | 'mix' {
  if (value === 'mix') {
    return 'mix';
  }
  const match = /^(\d+)(k?)$/i.exec(value);
  const bytes = match === null ? Number.NaN : Number(match[1]) * (match[2] === '' ? 1 : 1024);
  if (!Number.isInteger(bytes) || bytes < 1024 || bytes > 10 * 1024 * 1024) {
    throw new BenchmarkFailedError('--size must be mix, or bytes (e.g. 10240 or 10k) from 1k to 10240k');
  }
  return bytes;
}

/** `npm run bench -- pipeline --help`. */
export const PIPELINE_USAGE = `pipeline settings (docs/performance.md):
  --mode=fixed|max|overload   fixed rate (default), search for the maximum, or overload then recovery
  --rate=N --duration=S       fixed: N msg/s for S s (10, 30); overload: base rate (default: the max search's result) and overload length
  --factor=F                  overload: offer F × the base rate (1.5)
  --recovery-rate=N           overload: the low rate afterwards (half the base rate, at least 1)
  --recovery-seconds=S        overload: at most S s at the low rate (60); stops once 10 s in a row were all accepted
  --max-scan-backlog=N        SER_INGRESS_MAX_SCAN_BACKLOG of the relay (overload with --rate: 10 × rate; otherwise the relay's default)
  --max-concurrent-data=N     SER_INGRESS_MAX_CONCURRENT_DATA of the relay (the relay's default)
  --client-timeout-seconds=S  client socket inactivity timeout (120)
  --start-rate=N --step-rate=N --step-seconds=S --max-steps=N   max search (10, 10, 15, 10)
  --as=off|on|both            anti-spam engines (both)
  --size=N|Nk|mix --clients=N --domains=N --mx=N --warmup-seconds=S --drain-seconds=S
  --profile=svc,svc --keep=true
  --ferretdb-pid=N            also measure a FerretDB started by hand (MONGO_URL given): its process group
  --postgres-db=NAME          also measure PostgreSQL: the backends serving database NAME, and the rest of the server`;
