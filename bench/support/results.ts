import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { BenchmarkResult } from './benchmark';

/** Writes `<dir>/<name>-<UTC stamp>.json` with the results and the machine they ran on. */
export function writeResults(
  dir: string,
  result: BenchmarkResult,
  environment: Record<string, unknown>,
): string {
  mkdirSync(dir, { recursive: true });
  const stamp = result.startedAt.slice(0, 19).replaceAll(':', '').replaceAll('-', '');
  const file = join(dir, `${result.name}-${stamp}Z.json`);
  writeFileSync(file, `${JSON.stringify({ ...result, environment }, null, 2)}\n`);
  return file;
}

/** A fixed-width table of the scenarios for the terminal. */
export function formatTable(result: BenchmarkResult): string {
  const header = ['scenario', 'runs', 'p50 ms', 'p95 ms', 'max ms', 'docs read', 'status'];
  const rows = result.scenarios.map((s) => [
    s.name,
    String(s.runs),
    s.p50Ms.toFixed(1),
    s.p95Ms.toFixed(1),
    s.maxMs.toFixed(1),
    s.documentsRead === undefined ? '' : String(s.documentsRead),
    s.error === undefined ? 'ok' : 'FAILED',
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells.map((c, i) => (i === 0 ? c.padEnd(widths[i] ?? 0) : c.padStart(widths[i] ?? 0))).join('  ');
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}
