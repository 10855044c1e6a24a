import { availableParallelism, cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { pipelineBenchmark } from './pipeline.bench';
import { reportsBenchmark } from './reports.bench';
import type { Benchmark, BenchmarkOptions } from './support/benchmark';
import { formatTable, writeResults } from './support/results';

/*
 * `npm run bench` runs every benchmark, `npm run bench -- reports` one of them; `--runs=N`,
 * `--warmup=N` and benchmark settings (`--messages=N`, `--keep=true`) follow the names. A benchmark
 * joins by being listed here.
 */
const BENCHMARKS: readonly Benchmark[] = [reportsBenchmark, pipelineBenchmark];

/** Results land in bench/results at the repository root (this file runs from dist/bench). */
const RESULTS_DIR = join(__dirname, '..', '..', 'bench', 'results');

interface Invocation {
  selected: Benchmark[];
  options: BenchmarkOptions;
}

function parseArgs(args: readonly string[]): Invocation {
  const settings: Record<string, string> = {};
  const names: string[] = [];
  for (const arg of args) {
    const setting = /^--([a-z][a-z-]*)(?:=(.*))?$/.exec(arg);
    if (setting?.[1] === undefined) {
      names.push(arg);
    } else {
      settings[setting[1]] = setting[2] ?? 'true';
    }
  }
  const unknown = names.filter((n) => !BENCHMARKS.some((b) => b.name === n));
  if (unknown.length > 0) {
    throw new RangeError(
      `unknown benchmark ${unknown.join(', ')}; known: ${BENCHMARKS.map((b) => b.name).join(', ')}`,
    );
  }
  const count = (name: string, fallback: number): number => {
    const n = Number(settings[name] ?? fallback);
    if (!Number.isInteger(n) || n < 0) {
      throw new RangeError(`--${name} must be a whole number`);
    }
    return n;
  };
  return {
    selected: names.length === 0 ? [...BENCHMARKS] : BENCHMARKS.filter((b) => names.includes(b.name)),
    options: { runs: Math.max(1, count('runs', 30)), warmup: count('warmup', 5), settings },
  };
}

async function main(): Promise<void> {
  const { selected, options } = parseArgs(process.argv.slice(2));
  if (options.settings['help'] !== undefined) {
    for (const benchmark of selected) {
      console.log(
        `${benchmark.name}: ${benchmark.description}\n${benchmark.usage ?? '(no settings of its own)'}\n`,
      );
    }
    console.log('every benchmark: --runs=N --warmup=N (docs/performance.md)');
    return;
  }
  const environment = {
    node: process.version,
    cpus: availableParallelism(),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    platform: process.platform,
  };
  for (const benchmark of selected) {
    console.log(`bench: ${benchmark.name}: ${benchmark.description}`);
    const result = await benchmark.run(options);
    const file = writeResults(RESULTS_DIR, result, environment);
    console.log(`\n${formatTable(result)}\n`);
    console.log(
      `bench: ${benchmark.name} done in ${String(Math.round(result.durationMs / 1000))} s; ${file}`,
    );
    for (const failed of result.scenarios.filter((r) => r.error !== undefined)) {
      console.error(`bench: FAILED: ${benchmark.name}: ${failed.name}: ${failed.error ?? ''}`);
      process.exitCode = 1;
    }
  }
}

main().catch((error: unknown) => {
  console.error('bench: FAILED:', error);
  process.exitCode = 1;
});
