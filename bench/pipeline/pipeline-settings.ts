import type { ServiceName } from '@ser/config';
import { BenchmarkFailedError } from '../support/benchmark';
import { PIPELINE_SERVICES } from './relay-processes';

/** `npm run bench -- pipeline --name=value …`, parsed; docs/performance.md lists them. */
export interface PipelineSettings {
  mode: 'fixed' | 'max';
  /** Anti-spam engines off, on, or one run of each (off first). */
  antiSpam: readonly boolean[];
  /** fixed: offered messages per second and for how long. */
  rate: number;
  durationS: number;
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
  const mode = settings['mode'] ?? 'fixed';
  if (mode !== 'fixed' && mode !== 'max') {
    throw new BenchmarkFailedError('--mode must be fixed or max');
  }
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
    rate: int('rate', 10),
    durationS: int('duration', 30),
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
  };
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
