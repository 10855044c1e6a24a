import type { StatsRepository, StatsRollupDocument } from '@ser/data';
import type { AdminHttp, HttpText } from '../support/admin-http';
import { rollupsRead } from './rollup-count';
import {
  checkApplications,
  checkStatsSummary,
  checkSummaryCsv,
  checkSummaryJson,
  expectedCounts,
} from './report-checks';
import type { ExpectedCounts } from './report-checks';
import type { Truth } from './message-mix';

/** One report request to time, how to check its answer, and the roll-ups it reads. */
export interface ReportScenario {
  name: string;
  /** The HTTP request, or the repository call. */
  request: string;
  /** Asks once and checks the answer (throws BenchmarkFailedError when it is wrong). */
  run(): Promise<void>;
  /** Roll-ups the request reads by `_id` (one read each; an application's part for `appId`). */
  documentsRead(docs: readonly StatsRollupDocument[]): number;
}

export interface ScenarioInput {
  tenantId: string;
  appIds: readonly string[];
  truth: Truth;
  /** The seeded month: `from` and `to` as dates (`2026-11-01`), and as instants. */
  month: { from: string; to: string; start: Date; end: Date };
}

/** A zone whose midnight is not a UTC day boundary of the month: partial days come from hour roll-ups. */
const ZONE = 'America/New_York';

/**
 * The five report requests of the benchmark over HTTP, then the month's summary query alone on
 * `StatsRepository` (no HTTP, no socket timeout: what the database costs), each checked against
 * the generator's truth.
 */
export function reportScenarios(
  input: ScenarioInput,
  http: AdminHttp,
  stats: StatsRepository,
): ReportScenario[] {
  const get = (
    path: string,
    check: (response: HttpText) => void,
  ): Pick<ReportScenario, 'request' | 'run'> => ({
    request: `GET ${path}`,
    run: async () => check(await http.get(path)),
  });
  const { tenantId, truth, month } = input;
  const appId = input.appIds[0] ?? '';
  const period = `tenantId=${tenantId}&from=${month.from}&to=${month.to}`;
  const whole = expectedCounts(truth, month.start, month.start, month.end);
  const oneApp = expectedCounts(truth, month.start, month.start, month.end, appId);
  // Midnight in the zone at either end (EDT→EST on 1 November), as the admin API resolves it.
  const zoned = { from: new Date('2026-11-01T04:00:00Z'), to: new Date('2026-12-01T05:00:00Z') };
  const inZone = expectedCounts(truth, month.start, zoned.from, zoned.to);
  const perApp = new Map<string, ExpectedCounts>(
    input.appIds.map((id) => [id, expectedCounts(truth, month.start, month.start, month.end, id)]),
  );
  const monthQuery = { tenantId, from: month.start, to: month.end };
  return [
    {
      name: 'summary, month, UTC',
      ...get(`/v1/reports/summary?${period}`, (r) => checkSummaryJson('summary, month, UTC', r, whole)),
      documentsRead: (docs) => rollupsRead(docs, monthQuery),
    },
    {
      name: 'summary, one application',
      ...get(`/v1/reports/summary?${period}&appId=${appId}`, (r) =>
        checkSummaryJson('summary, one application', r, oneApp),
      ),
      documentsRead: (docs) => rollupsRead(docs, monthQuery),
    },
    {
      name: `summary, month, ${ZONE}`,
      ...get(`/v1/reports/summary?${period}&tz=${encodeURIComponent(ZONE)}`, (r) =>
        checkSummaryJson(`summary, ${ZONE}`, r, inZone),
      ),
      documentsRead: (docs) => rollupsRead(docs, { tenantId, ...zoned }),
    },
    {
      name: 'summary, month, CSV',
      ...get(`/v1/reports/summary?${period}&format=csv`, (r) => checkSummaryCsv('summary, CSV', r, whole)),
      documentsRead: (docs) => rollupsRead(docs, monthQuery),
    },
    {
      name: 'applications, month',
      ...get(`/v1/reports/applications?${period}`, (r) => checkApplications('applications', r, perApp)),
      documentsRead: (docs) => rollupsRead(docs, monthQuery),
    },
    {
      name: 'StatsRepository.summary, month (no HTTP)',
      request: `StatsRepository.summary({ tenantId, from: ${month.from}, to: ${month.to} })`,
      run: async () => checkStatsSummary('StatsRepository.summary', await stats.summary(monthQuery), whole),
      documentsRead: (docs) => rollupsRead(docs, monthQuery),
    },
  ];
}
