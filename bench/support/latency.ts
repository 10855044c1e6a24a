import { performance } from 'node:perf_hooks';

/** Latency percentiles of a sample, nearest-rank, in milliseconds rounded to 0.1. */
export interface LatencyStats {
  runs: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
}

/** Nearest-rank percentile: a value that was actually measured, never an interpolation. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) {
    return Number.NaN;
  }
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil((p / 100) * sorted.length)));
  return sorted[rank - 1] ?? Number.NaN;
}

export function latencyStats(samples: readonly number[]): LatencyStats {
  const sorted = [...samples].sort((a, b) => a - b);
  const round = (ms: number): number => Math.round(ms * 10) / 10;
  return {
    runs: sorted.length,
    p50Ms: round(percentile(sorted, 50)),
    p95Ms: round(percentile(sorted, 95)),
    maxMs: round(sorted[sorted.length - 1] ?? Number.NaN),
  };
}

/**
 * Runs `once` `options.warmup` times unmeasured (connection set-up, JIT, FerretDB's statement
 * cache), then `options.runs` times one after the other, pushing the wall-clock time of each
 * measured run into `samples` (filled as it goes, so a failure keeps what was measured). Sequential
 * on purpose: the question is how long one operator waits, not how many reports fit in a second.
 */
export async function measure(
  once: () => Promise<void>,
  options: { runs: number; warmup: number },
  samples: number[],
): Promise<void> {
  for (let i = 0; i < options.warmup; i += 1) {
    await once();
  }
  for (let i = 0; i < options.runs; i += 1) {
    const start = performance.now();
    await once();
    samples.push(performance.now() - start);
  }
}
