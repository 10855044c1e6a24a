import { StatsRepository, TenantConfigRepository } from '@ser/data';
import type { CredentialDocument } from '@ser/data';
import { Injectable } from '@nestjs/common';
import { orNotFound } from '../http/problem';
import type { CsvCell } from './csv-writer';
import type { ReportQuery } from './reports.schemas';
import { PLAIN_METRICS, total } from './summary-report.use-case';

/** Per application: the keyless metrics, and held and rejected as totals over their reasons. */
export type ApplicationCounts = Record<(typeof PLAIN_METRICS)[number] | 'held' | 'rejected', number>;

/** A credential's identity and last use; never its secret or hash. */
export interface CredentialUse {
  id: string;
  username: string;
  status: CredentialDocument['status'];
  createdAt: string;
  expiresAt?: string;
  lastUsedAt?: string;
  lastUsedIp?: string;
}

export interface ApplicationRow {
  appId: string;
  name: string;
  status: string;
  createdAt: string;
  counts: ApplicationCounts;
  credentials: CredentialUse[];
}

export interface ApplicationsReport {
  tenantId: string;
  from: string;
  to: string;
  tz: string;
  applications: ApplicationRow[];
}

/** Every application of a tenant, oldest first, with its counts for the period and its credentials' last use. */
@Injectable()
export class ApplicationsReportUseCase {
  constructor(
    private readonly stats: StatsRepository,
    private readonly tenants: TenantConfigRepository,
  ) {}

  async execute(query: ReportQuery): Promise<ApplicationsReport> {
    const { tenantId, tz, period } = query;
    orNotFound(await this.tenants.findTenant(tenantId), 'tenant');
    const [applications, credentials, byApp] = await Promise.all([
      this.tenants.applications.find({ tenantId }).sort({ createdAt: 1, _id: 1 }).toArray(),
      this.tenants.credentials
        .find({ tenantId }, { projection: { secretHash: 0 } })
        .sort({ createdAt: 1, _id: 1 })
        .toArray(),
      this.stats.byApplication({ tenantId, from: period.from, to: period.to }),
    ]);
    return {
      tenantId,
      from: period.from.toISOString(),
      to: period.to.toISOString(),
      tz,
      applications: applications.map((app) => ({
        appId: app._id,
        name: app.name,
        status: app.status,
        createdAt: app.createdAt.toISOString(),
        counts: applicationCounts(byApp[app._id] ?? {}),
        credentials: credentials.filter((c) => c.appId === app._id).map(credentialUse),
      })),
    };
  }
}

function applicationCounts(summary: Record<string, Record<string, number> | undefined>): ApplicationCounts {
  const counts = Object.fromEntries(PLAIN_METRICS.map((m) => [m, total(summary[m])]));
  return {
    ...counts,
    held: total(summary['held']),
    rejected: total(summary['rejected']),
  } as ApplicationCounts;
}

/** Picks the fields one by one, so a field added to the document never leaks here. */
function credentialUse(c: Omit<CredentialDocument, 'secretHash'>): CredentialUse {
  return {
    id: c._id,
    username: c.username,
    status: c.status,
    createdAt: c.createdAt.toISOString(),
    ...(c.expiresAt === undefined ? {} : { expiresAt: c.expiresAt.toISOString() }),
    ...(c.lastUsedAt === undefined ? {} : { lastUsedAt: c.lastUsedAt.toISOString() }),
    ...(c.lastUsedIp === undefined ? {} : { lastUsedIp: c.lastUsedIp }),
  };
}

export const APPLICATIONS_CSV_HEADER = [
  'appId',
  'name',
  'status',
  ...PLAIN_METRICS,
  'held',
  'rejected',
  'activeCredentials',
  'lastUsedAt',
  'lastUsedIp',
  'lastUsedCredentialId',
] as const;

/**
 * One row per application; `activeCredentials` counts the active, unexpired ones, and the last use is
 * that of its most recently used credential.
 */
export function applicationsCsvRows(report: ApplicationsReport, now = new Date().toISOString()): CsvCell[][] {
  return report.applications.map((app) => {
    const last = app.credentials
      .filter((c) => c.lastUsedAt !== undefined)
      .sort((a, b) => (b.lastUsedAt ?? '').localeCompare(a.lastUsedAt ?? ''))[0];
    return [
      app.appId,
      app.name,
      app.status,
      ...PLAIN_METRICS.map((m) => app.counts[m]),
      app.counts.held,
      app.counts.rejected,
      app.credentials.filter(
        (c) => c.status === 'active' && !(c.expiresAt !== undefined && c.expiresAt <= now),
      ).length,
      last?.lastUsedAt,
      last?.lastUsedIp,
      last?.id,
    ];
  });
}
