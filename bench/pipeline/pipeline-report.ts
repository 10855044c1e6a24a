import type { ScenarioResult } from '../support/benchmark';
import { BenchmarkFailedError } from '../support/benchmark';
import type { Percentiles } from './ledger';
import type { OverloadResult, PhaseReplies } from './overload';
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
    ...(result.overload?.problems ?? []).map((p) => `overload: ${p}`),
  ].filter((p) => p !== '');
  return problems.length === 0
    ? undefined
    : new BenchmarkFailedError(`${modeName(result.antiSpam)}: ${problems.join('; ')}`);
}

/** Two latency scenarios per window for the runner's table and the JSON file. */
export function scenariosOf(result: ModeResult): ScenarioResult[] {
  const error = correctnessError(result)?.message;
  const scenarios = result.windows.flatMap((w) => [
    scenario(`${modeName(result.antiSpam)} ${windowName(w)}: end of data -> 250`, w.dataToReply),
    scenario(`${modeName(result.antiSpam)} ${windowName(w)}: 250 -> sink`, w.replyToSink),
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

function windowName(w: RateWindow): string {
  return `${w.phase === undefined ? '' : `${w.phase} `}${String(w.rate)}/s`;
}

/** `250:40 451:12 timeout:0 conn:1`: every reply code, then the submissions without a reply. */
function repliesOf(r: { codes: Record<string, number>; timeouts: number; connectionErrors: number }): string {
  const codes = Object.entries(r.codes)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([code, n]) => `${code}:${String(n)}`);
  return [...codes, `timeout:${String(r.timeouts)}`, `conn:${String(r.connectionErrors)}`].join(' ');
}

function windowRow(w: RateWindow): string[] {
  return [
    windowName(w),
    String(w.offered),
    w.acceptedPerS.toFixed(1),
    w.deliveredPerS.toFixed(1),
    `${String(w.replies4xx)}/${String(w.replies5xx)}/${String(w.clientErrors)}`,
    repliesOf(w),
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
      'replies',
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
    `ingress admission refusals (451 4.3.2) by reason: ${refusalsOf(result.admissionRefusals)}`,
    `correctness: ${String(c.accepted)} accepted, ${String(c.deliveredOnce)} delivered once, ${String(c.missing)} missing, ` +
      `${String(c.duplicates)} duplicates, ${String(c.unexpected)} unexpected, ${String(c.unsigned)} unsigned`,
    ...overloadLines(result.overload),
    `load average before/after: ${String(result.load.before.load1)} / ${String(result.load.after.load1)}; messages ${String(result.messages.meanBytes)} B on average, ${String(result.messages.withAttachmentPercent)} % with a PDF`,
    ...(result.dir === undefined ? [] : [`logs and profiles: ${result.dir}`]),
  ].join('\n');
}

function phaseLine(name: string, p: PhaseReplies): string {
  const l = p.submitToReplyMs;
  return `  ${name}: ${String(p.offered)} offered; ${repliesOf(p)}; submit -> reply p50/p99/max ${l.p50.toFixed(0)}/${l.p99.toFixed(0)}/${l.max.toFixed(0)} ms`;
}

/** overload mode: the plan, the replies of each phase, the recovery and the verdict. */
function overloadLines(o: OverloadResult | undefined): string[] {
  if (o === undefined) {
    return [];
  }
  return [
    `overload: ${String(o.overloadRate)}/s (${String(o.factor)} x ${String(o.baseRate)}/s, ${o.baseRateFrom}) for ${String(o.overloadS)} s, ` +
      `then ${String(o.recoveryRate)}/s for at most ${String(o.recoveryS)} s; relay bounds: scan backlog ${String(o.maxScanBacklog)}, ` +
      `concurrent DATA ${String(o.maxConcurrentData)}`,
    phaseLine('overload', o.overload),
    phaseLine('recovery', o.recovery),
    `  recovery: ${o.recoverySeconds === null ? 'never (still refusing at the end)' : `every message accepted again ${String(o.recoverySeconds)} s after the overload`}; ` +
      (o.problems.length === 0 ? 'no client timed out: as issue 9 asks' : `FAILED: ${o.problems.join('; ')}`),
  ];
}

function refusalsOf(refusals: Record<string, number>): string {
  const entries = Object.entries(refusals).filter(([, n]) => n > 0);
  return entries.length === 0 ? 'none' : entries.map(([reason, n]) => `${reason} ${String(n)}`).join(', ');
}
