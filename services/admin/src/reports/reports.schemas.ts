import { z } from 'zod';
import { DAY_MS, MAX_PERIOD_DAYS, instantIn, isTimeZone, reportPeriod } from './report-period';
import type { ReportPeriod } from './report-period';

/** Ids as `newId` makes them (libs/data/src/ids.ts): a prefix and 24 hex digits, never an operator object. */
const TENANT_ID = /^ten_[0-9a-f]{24}$/;
const APP_ID = /^app_[0-9a-f]{24}$/;
/** A date, a date-time with `Z` or an offset, or a wall-clock date-time read in `tz`. */
const DATE_OR_DATE_TIME =
  /^\d{4}-\d{2}-\d{2}(?:T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})|T\d{2}:\d{2}(?::\d{2})?)?$/;
const DATE_MESSAGE = 'expected an ISO 8601 date (2026-11-01) or date-time (2026-11-01T08:00:00Z)';

const dateInput = z.string().max(40).regex(DATE_OR_DATE_TIME, DATE_MESSAGE);

export const REPORT_FORMATS = ['json', 'csv'] as const;
export type ReportFormat = (typeof REPORT_FORMATS)[number];

/** A validated report request: the period resolved in `tz` and widened to whole UTC hours. */
export interface ReportQuery {
  tenantId: string;
  appId?: string;
  tz: string;
  period: ReportPeriod;
  format?: ReportFormat;
}

const common = {
  tenantId: z.string().regex(TENANT_ID, 'not a tenant id'),
  from: dateInput.optional(),
  to: dateInput.optional(),
  tz: z
    .string()
    .max(64)
    .regex(/^[A-Za-z0-9_+\-/]+$/, 'not a time zone')
    .refine(isTimeZone, 'not a known IANA time zone')
    .default('UTC'),
  format: z.enum(REPORT_FORMATS).optional(),
};

function resolve(
  query: { tenantId: string; appId?: string; from?: string; to?: string; tz: string; format?: ReportFormat },
  ctx: z.RefinementCtx,
): ReportQuery {
  const from = query.from === undefined ? undefined : instantIn(query.from, query.tz);
  const to = query.to === undefined ? undefined : instantIn(query.to, query.tz);
  const invalid = (path: string, message: string): typeof z.NEVER => {
    ctx.addIssue({ code: 'custom', path: [path], message });
    return z.NEVER;
  };
  if (query.from !== undefined && from === undefined) {
    return invalid('from', DATE_MESSAGE);
  }
  if (query.to !== undefined && to === undefined) {
    return invalid('to', DATE_MESSAGE);
  }
  const period = reportPeriod(from, to, new Date());
  if (period.from >= period.to) {
    return invalid('from', 'must be before to');
  }
  if (period.to.getTime() - period.from.getTime() > MAX_PERIOD_DAYS * DAY_MS) {
    return invalid('to', `the period must not be longer than ${MAX_PERIOD_DAYS} days`);
  }
  const { tenantId, appId, tz, format } = query;
  return {
    tenantId,
    tz,
    period,
    ...(appId === undefined ? {} : { appId }),
    ...(format === undefined ? {} : { format }),
  };
}

/** `GET /v1/reports/summary`: one tenant, optionally one application. */
export const summaryQuerySchema: z.ZodType<ReportQuery> = z
  .object({ ...common, appId: z.string().regex(APP_ID, 'not an application id').optional() })
  .strict()
  .transform(resolve);

/** `GET /v1/reports/applications`: every application of one tenant. */
export const applicationsQuerySchema: z.ZodType<ReportQuery> = z.object(common).strict().transform(resolve);
