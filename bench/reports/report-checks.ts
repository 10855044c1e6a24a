import { HOUR_MS } from '@ser/data';
import type { StatsSummary } from '@ser/data';
import { BenchmarkFailedError } from '../support/benchmark';
import type { HttpText } from '../support/admin-http';
import type { Truth, TruthMetric } from './message-mix';

/** The counts a report must show, from the generator's own tally (never from the buckets). */
export type ExpectedCounts = Record<TruthMetric, number>;

const CHECKED: readonly TruthMetric[] = ['relay_requests', 'accepted', 'delivered'];

/** Sums the truth over `[from, to)` (any instants; the generator's hours outside it are skipped). */
export function expectedCounts(
  truth: Truth,
  periodStart: Date,
  from: Date,
  to: Date,
  appId?: string,
): ExpectedCounts {
  const first = Math.max(0, Math.ceil((from.getTime() - periodStart.getTime()) / HOUR_MS));
  const last = Math.floor((to.getTime() - periodStart.getTime()) / HOUR_MS);
  const sum = (metric: TruthMetric): number => {
    let n = 0;
    for (const [app, hours] of truth[metric]) {
      if (appId === undefined || app === appId) {
        for (let h = first; h < Math.min(last, hours.length); h += 1) {
          n += hours[h] ?? 0;
        }
      }
    }
    return n;
  };
  return { relay_requests: sum('relay_requests'), accepted: sum('accepted'), delivered: sum('delivered') };
}

/** A JSON summary: its counts must equal the expected ones. */
export function checkSummaryJson(name: string, response: HttpText, expected: ExpectedCounts): void {
  const body = parseOk(name, response, 'application/json') as { counts?: Record<string, unknown> };
  compare(name, (metric) => body.counts?.[metric], expected);
}

/** The repository's own answer (metric → key → count; keyless metrics under `''`). */
export function checkStatsSummary(name: string, summary: StatsSummary, expected: ExpectedCounts): void {
  compare(name, (metric) => summary[metric]?.[''] ?? 0, expected);
}

/** A CSV summary (`metric,key,count` rows): the keyless rows must equal the expected counts. */
export function checkSummaryCsv(name: string, response: HttpText, expected: ExpectedCounts): void {
  expectOk(name, response, 'text/csv');
  const rows = new Map<string, number>();
  for (const line of response.text.split('\r\n')) {
    const [metric, key, count] = line.split(',');
    if (metric !== undefined && key === '' && count !== undefined) {
      rows.set(metric, Number(count));
    }
  }
  compare(name, (metric) => rows.get(metric), expected);
}

/** The applications report: each application's counts must equal its expected ones. */
export function checkApplications(
  name: string,
  response: HttpText,
  expected: ReadonlyMap<string, ExpectedCounts>,
): void {
  const body = parseOk(name, response, 'application/json') as {
    applications?: { appId: string; counts: Record<string, unknown> }[];
  };
  const rows = new Map((body.applications ?? []).map((app) => [app.appId, app.counts]));
  for (const [appId, counts] of expected) {
    compare(`${name} ${appId}`, (metric) => rows.get(appId)?.[metric], counts);
  }
}

function compare(name: string, actual: (metric: TruthMetric) => unknown, expected: ExpectedCounts): void {
  for (const metric of CHECKED) {
    if (actual(metric) !== expected[metric]) {
      throw new BenchmarkFailedError(
        `${name}: ${metric} is ${String(actual(metric))}, the generated messages give ${String(expected[metric])}`,
      );
    }
  }
}

function expectOk(name: string, response: HttpText, contentType: string): void {
  if (response.status !== 200 || !response.contentType.startsWith(contentType)) {
    throw new BenchmarkFailedError(
      `${name}: expected 200 ${contentType}, got ${String(response.status)} ${response.contentType}: ${response.text.slice(0, 300)}`,
    );
  }
}

function parseOk(name: string, response: HttpText, contentType: string): unknown {
  expectOk(name, response, contentType);
  return JSON.parse(response.text);
}
