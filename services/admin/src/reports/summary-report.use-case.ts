import { StatsRepository, TenantConfigRepository, topKeys } from '@ser/data';
import { Injectable } from '@nestjs/common';
import { orNotFound } from '../http/problem';
import type { CsvCell } from './csv-writer';
import type { ReportQuery } from './reports.schemas';

/** Counted metrics without a key, in report order. */
export const PLAIN_METRICS = [
  'relay_requests',
  'accepted',
  'delivered',
  'deferred',
  'bounced',
  'expired',
  'suppressed',
  'quarantined',
] as const;
/** Metrics counted per reason. */
export const REASON_METRICS = ['held', 'rejected'] as const;
/** The longest top list of a report. */
export const TOP_LIMIT = 20;

type PlainMetric = (typeof PLAIN_METRICS)[number];
type ReasonMetric = (typeof REASON_METRICS)[number];
export type ReportCounts = Record<PlainMetric, number> & Record<ReasonMetric, Record<string, number>>;

export interface SummaryReport {
  tenantId: string;
  appId?: string;
  from: string;
  to: string;
  tz: string;
  counts: ReportCounts;
  topFailingDomains: { domain: string; count: number }[];
  senders: {
    headerFrom: { address: string; count: number }[];
    envelope: { address: string; count: number }[];
  };
  refusedIps: { ip: string; count: number }[];
}

/** The sum of a metric's keys (a keyless metric has the one key ''). */
export const total = (byKey: Record<string, number> | undefined): number =>
  Object.values(byKey ?? {}).reduce((sum, n) => sum + n, 0);

/** The counts of one tenant or application for a period, read from the hourly statistics buckets. */
@Injectable()
export class SummaryReportUseCase {
  constructor(
    private readonly stats: StatsRepository,
    private readonly tenants: TenantConfigRepository,
  ) {}

  async execute(query: ReportQuery): Promise<SummaryReport> {
    const { tenantId, appId, tz, period } = query;
    orNotFound(await this.tenants.findTenant(tenantId), 'tenant');
    if (appId !== undefined) {
      orNotFound(await this.tenants.findApplication(tenantId, appId), 'application');
    }
    const q = { tenantId, from: period.from, to: period.to, ...(appId === undefined ? {} : { appId }) };
    // One read of the buckets: the summary holds every key of every metric, so the top lists are
    // cut from it rather than read again (each query costs a scan on FerretDB: docs/performance.md).
    const summary = await this.stats.summary(q);
    const top = (metric: string) => topKeys(summary[metric], TOP_LIMIT);
    return {
      tenantId,
      ...(appId === undefined ? {} : { appId }),
      from: period.from.toISOString(),
      to: period.to.toISOString(),
      tz,
      counts: reportCounts(summary),
      topFailingDomains: top('failing_domain').map(({ key, count }) => ({ domain: key, count })),
      senders: {
        headerFrom: top('sender_from').map(({ key, count }) => ({ address: key, count })),
        envelope: top('sender_envelope').map(({ key, count }) => ({ address: key, count })),
      },
      refusedIps: top('refused_ip').map(({ key, count }) => ({ ip: key, count })),
    };
  }
}

/** Every reported metric is present, with 0 or `{}` when nothing happened. */
export function reportCounts(summary: Record<string, Record<string, number> | undefined>): ReportCounts {
  const plain = Object.fromEntries(PLAIN_METRICS.map((m) => [m, total(summary[m])])) as Record<
    PlainMetric,
    number
  >;
  return { ...plain, held: { ...summary['held'] }, rejected: { ...summary['rejected'] } };
}

export const SUMMARY_CSV_HEADER = ['metric', 'key', 'count'] as const;

/** One row per metric and key, in the order of the JSON report; top lists under their metric names. */
export function summaryCsvRows(report: SummaryReport): CsvCell[][] {
  const { counts } = report;
  return [
    ...PLAIN_METRICS.map((m): CsvCell[] => [m, '', counts[m]]),
    ...REASON_METRICS.flatMap((m) => Object.entries(counts[m]).map(([key, n]): CsvCell[] => [m, key, n])),
    ...report.topFailingDomains.map((d): CsvCell[] => ['failing_domain', d.domain, d.count]),
    ...report.senders.headerFrom.map((s): CsvCell[] => ['sender_from', s.address, s.count]),
    ...report.senders.envelope.map((s): CsvCell[] => ['sender_envelope', s.address, s.count]),
    ...report.refusedIps.map((i): CsvCell[] => ['refused_ip', i.ip, i.count]),
  ];
}
