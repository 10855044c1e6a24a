import { performance } from 'node:perf_hooks';
import type { Benchmark, BenchmarkOptions, BenchmarkResult, ScenarioResult } from './support/benchmark';
import { formatModeReport, modeName, scenariosOf } from './pipeline/pipeline-report';
import { runPipelineMode } from './pipeline/pipeline-run';
import type { ModeResult } from './pipeline/pipeline-run';
import { parsePipelineSettings, PIPELINE_USAGE } from './pipeline/pipeline-settings';

/**
 * Issue 9's throughput benchmark: the six services as separate processes (AV and DKIM on, the
 * anti-spam engines off and on), many SMTP clients submitting over STARTTLS + AUTH, delivery to
 * sink MX hosts on loopback found through a loopback DNS server. Measures accepted and delivered
 * messages per second, latency (client end of data → `250`, `250` → sink), CPU and peak RSS per
 * process, and checks that every `250` arrived exactly once, signed. The overload mode offers 1.5×
 * a rate, then a low rate, and checks that no client timed out and that the relay accepted every
 * message again within 60 s.
 */
export const pipelineBenchmark: Benchmark = {
  name: 'pipeline',
  description:
    'SMTP in → scan → sign → MX out, all six services as processes: throughput, latency, CPU per message',
  usage: PIPELINE_USAGE,
  run: runPipeline,
};

async function runPipeline(options: BenchmarkOptions): Promise<BenchmarkResult> {
  const startedAt = new Date();
  const started = performance.now();
  const settings = parsePipelineSettings(options.settings);
  const modes: ModeResult[] = [];
  const scenarios: ScenarioResult[] = [];
  const failures: Record<string, string> = {};
  for (const antiSpam of settings.antiSpam) {
    console.log(`bench: pipeline: ${modeName(antiSpam)}: starting the six services`);
    try {
      const result = await runPipelineMode(settings, antiSpam);
      modes.push(result);
      scenarios.push(...scenariosOf(result));
      console.log(`\n${formatModeReport(result)}\n`);
    } catch (error) {
      // The other mode still runs: a start-up failure of one must not hide the other's numbers.
      const message = error instanceof Error ? error.message : String(error);
      failures[modeName(antiSpam)] = message;
      scenarios.push({
        name: `${modeName(antiSpam)}: run`,
        request: 'the whole pipeline',
        runs: 0,
        p50Ms: Number.NaN,
        p95Ms: Number.NaN,
        maxMs: Number.NaN,
        error: message,
      });
    }
  }
  return {
    name: 'pipeline',
    startedAt: startedAt.toISOString(),
    durationMs: Math.round(performance.now() - started),
    scenarios,
    details: {
      settings,
      modes,
      failures,
      checked:
        'every message answered 250 reached a sink exactly once, with the tenant DKIM signature; no delivery of a refused message' +
        (settings.mode === 'overload'
          ? `; overload: no submission timed out, and every message accepted again within 60 s of the overload's end`
          : ''),
    },
  };
}
