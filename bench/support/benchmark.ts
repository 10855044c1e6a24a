/** One scenario's latencies, in milliseconds, and what it read. */
export interface ScenarioResult {
  name: string;
  /** What the scenario asks, e.g. the request path without the token. */
  request: string;
  runs: number;
  p50Ms: number;
  p95Ms: number;
  maxMs: number;
  /** Documents the queries behind one request select (see the benchmark for how it counts). */
  documentsRead?: number;
  /** Why the scenario failed (a wrong answer, an error status); its latencies are then partial. */
  error?: string;
}

/** What a benchmark hands back to the runner: its scenarios and anything else worth keeping. */
export interface BenchmarkResult {
  name: string;
  startedAt: string;
  durationMs: number;
  scenarios: ScenarioResult[];
  /** Setup facts (data volume, seeding time, environment) for the JSON results file. */
  details: Record<string, unknown>;
}

/** Command-line settings shared by every benchmark (`npm run bench -- reports --runs=50`). */
export interface BenchmarkOptions {
  /** Measured runs per scenario, after the warm-up. */
  runs: number;
  warmup: number;
  /** Benchmark-specific `--name=value` settings, unparsed. */
  settings: Record<string, string>;
}

/** A benchmark the runner can dispatch by name. */
export interface Benchmark {
  name: string;
  description: string;
  /** Its settings, printed by `npm run bench -- <name> --help`. */
  usage?: string;
  run(options: BenchmarkOptions): Promise<BenchmarkResult>;
}

/** The benchmark could not run or measured wrong answers: the run fails, whatever the latency. */
export class BenchmarkFailedError extends Error {
  override readonly name = 'BenchmarkFailedError';
}
