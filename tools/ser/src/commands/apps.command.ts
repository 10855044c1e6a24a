import type { ApiClient } from '../api-client';
import type { ApplicationView, ApplicationsReportView, CredentialView, Page } from '../api-types';
import type { ParsedArgs } from '../args';
import { out, outJson } from '../cli-io';
import { formatTable } from '../output/table';
import type { Command, CommandContext } from './command';

/** One row of `ser apps`. */
export interface AppRow {
  id: string;
  name: string;
  status: string;
  allowedFrom: string[];
  activeCredentials: number;
  lastUsedAt?: string;
}

async function listApplications(api: ApiClient, tenantId: string): Promise<ApplicationView[]> {
  const items: ApplicationView[] = [];
  let cursor: string | undefined;
  do {
    const page = await api.get<Page<ApplicationView>>(`/v1/tenants/${tenantId}/applications`, { cursor });
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return items;
}

function isActive(credential: CredentialView, now: number): boolean {
  return (
    credential.status === 'active' &&
    (credential.expiresAt === undefined || Date.parse(credential.expiresAt) > now)
  );
}

/** Joins the application list with the applications report, which holds the credentials' last use. */
export function appRows(
  apps: readonly ApplicationView[],
  report: ApplicationsReportView,
  now: number,
): AppRow[] {
  const byId = new Map(report.applications.map((a) => [a.appId, a]));
  return apps.map((app) => {
    const credentials = byId.get(app.id)?.credentials ?? [];
    const lastUsedAt = credentials
      .map((c) => c.lastUsedAt)
      .filter((at): at is string => at !== undefined)
      .sort()
      .at(-1);
    return {
      id: app.id,
      name: app.name,
      status: app.status,
      allowedFrom: app.allowedFromDomains ?? [],
      activeCredentials: credentials.filter((c) => isActive(c, now)).length,
      ...(lastUsedAt === undefined ? {} : { lastUsedAt }),
    };
  });
}

async function apps(context: CommandContext, args: ParsedArgs): Promise<void> {
  const tenantId = args.required('tenant');
  const list = await listApplications(context.api, tenantId);
  const report = await context.api.get<ApplicationsReportView>('/v1/reports/applications', { tenantId });
  const rows = appRows(list, report, Date.now());
  if (context.json) {
    outJson(context.io, { tenantId, applications: rows });
    return;
  }
  out(
    context.io,
    formatTable(
      ['ID', 'NAME', 'STATUS', 'ALLOWED FROM', 'CREDENTIALS', 'LAST USED'],
      rows.map((r) => [
        r.id,
        r.name,
        r.status,
        r.allowedFrom.length === 0 ? '(any tenant domain)' : r.allowedFrom.join(','),
        r.activeCredentials,
        r.lastUsedAt,
      ]),
    ),
  );
}

/** `ser apps --tenant <id>`. */
export const appsCommand: Command = {
  words: ['apps'],
  summary: "list a tenant's applications with their active credentials and last use",
  options: { tenant: { type: 'string', required: true, value: '<ten_id>', description: 'the tenant' } },
  run: apps,
};
