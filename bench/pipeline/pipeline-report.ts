import type { ScenarioResult } from '../support/benchmark';
import { BenchmarkFailedError } from '../support/benchmark';
import type { Percentiles } from './ledger';
import type { ModeResult, RateWindow } from './pipeline-run';

export function modeName(antiSpam: boolean): string {
  return antiSpam ? 'AV+AS+DKIM' : 'AV+DKIM';
}

/** Why a run's answers are wrong: a `250` lost or delivered twice, unsigned, or never drained. */
export function correctnessError(result: ModeResult): BenchmarkFailedError | undefined {
  const c = result.correctness;
  const problems = [
    c.missing > 0
      ? `${String(c.missing)} accepted messages never reached a sink (${JSON.stringify(result.missingStates)})`
      : '',
    c.duplicates > 0 ? `${String(c.duplicates)} duplicate deliveries` : '',
    c.unexpected > 0 ? `${String(c.unexpected)} deliveries of messages the relay did not accept` : '',
    c.unsigned > 0 ? `${String(c.unsigned)} messages arrived without the tenant's DKIM signature` : '',
    result.failure ?? '',
  ].filter((p) => p !== '');
  return problems.length === 0
    ? undefined
    : new BenchmarkFailedError(`${modeName(result.antiSpam)}: ${problems.join('; ')}`);
}

/** Two latency scenarios per window for the runner's table and the JSON file. */
export function scenariosOf(result: ModeResult): ScenarioResult[] {
  const error = correctnessError(result)?.message;
  const scenarios = result.windows.flatMap((w) => [
    scenario(`${modeName(result.antiSpam)} ${String(w.rate)}/s: end of data -> 250`, w.dataToReply),
    scenario(`${modeName(result.antiSpam)} ${String(w.rate)}/s: 250 -> sink`, w.replyToSink),
  ]);
  const first = scenarios[0];
  if (error !== undefined && first !== undefined) {
    first.error = error;
  }
  return scenarios;
}

function scenario(name: string, p: Percentiles): ScenarioResult {
  return {
    name,
    request: 'SMTP submission through the whole relay',
    runs: p.count,
    p50Ms: p.p50,
    p95Ms: p.p95,
    maxMs: p.max,
  };
}

function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

const triple = (p: Percentiles): string => `${p.p50.toFixed(0)}/${p.p95.toFixed(0)}/${p.p99.toFixed(0)}`;

function windowRow(w: RateWindow): string[] {
  return [
    `${String(w.rate)}/s`,
    String(w.offered),
    w.acceptedPerS.toFixed(1),
    w.deliveredPerS.toFixed(1),
    `${String(w.replies4xx)}/${String(w.replies5xx)}/${String(w.clientErrors)}`,
    triple(w.dataToReply),
    triple(w.replyToSink),
    w.sustainable === undefined ? '' : w.sustainable ? 'yes' : 'no',
  ];
}

/** The short report on stdout: throughput and latency per window, CPU and memory per process. */
export function formatModeReport(result: ModeResult): string {
  const c = result.correctness;
  const r = result.resources;
  const windows = table(
    [
      'rate',
      'offered',
      'accepted/s',
      'delivered/s',
      '4xx/5xx/err',
      'eod->250 p50/95/99 ms',
      '250->sink p50/95/99 ms',
      'kept up',
    ],
    result.windows.map(windowRow),
  );
  const processes = table(
    ['process', 'CPU s', 'CPU ms/msg', 'peak RSS MiB'],
    r.processes.map((p) => [
      p.process,
      p.cpuS.toFixed(1),
      p.cpuMsPerMessage.toFixed(2),
      p.peakRssMiB?.toFixed(0) ?? '',
    ]),
  );
  const stages = result.stages
    .map((s) => `${s.stage} ${s.meanMs.toFixed(1)} ms (${String(s.jobs)} jobs)`)
    .join(', ');
  return [
    `== ${modeName(result.antiSpam)}${result.maxSustainableRate === undefined ? '' : `: max sustainable ${String(result.maxSustainableRate)} msg/s`}`,
    windows,
    '',
    processes,
    '',
    `CPU per delivered message: services ${r.servicesCpuMsPerMessage.toFixed(2)} ms, with Redis/FerretDB/clamd/spamd ${r.relayCpuMsPerMessage.toFixed(2)} ms` +
      (r.unmeasured.length > 0 ? ` (not measured: ${r.unmeasured.join(', ')})` : '') +
      `; ${String(result.delivered)} delivered in ${String(result.measuredSeconds)} s`,
    `mean handler time per job: ${stages}`,
    `correctness: ${String(c.accepted)} accepted, ${String(c.deliveredOnce)} delivered once, ${String(c.missing)} missing, ` +
      `${String(c.duplicates)} duplicates, ${String(c.unexpected)} unexpected, ${String(c.unsigned)} unsigned`,
    `load average before/after: ${String(result.load.before.load1)} / ${String(result.load.after.load1)}; messages ${String(result.messages.meanBytes)} B on average, ${String(result.messages.withAttachmentPercent)} % with a PDF`,
    ...(result.dir === undefined ? [] : [`logs and profiles: ${result.dir}`]),
  ].join('\n');
}
