import { Controller, Get, Headers, Query, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Access } from '../auth/access.decorator';
import { parseQuery } from '../http/parse-body';
import {
  APPLICATIONS_CSV_HEADER,
  ApplicationsReportUseCase,
  applicationsCsvRows,
} from './applications-report.use-case';
import type { ApplicationsReport } from './applications-report.use-case';
import { toCsv } from './csv-writer';
import { applicationsQuerySchema, summaryQuerySchema } from './reports.schemas';
import type { ReportQuery } from './reports.schemas';
import { SUMMARY_CSV_HEADER, SummaryReportUseCase, summaryCsvRows } from './summary-report.use-case';
import type { SummaryReport } from './summary-report.use-case';

/** Reports of one tenant from the statistics buckets, as JSON or CSV (access per route: auth/access.guard.ts). */
@Controller('v1/reports')
export class ReportsController {
  constructor(
    private readonly summaries: SummaryReportUseCase,
    private readonly applications: ApplicationsReportUseCase,
  ) {}

  @Get('summary')
  @Access('read')
  async summary(
    @Query() query: unknown,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<SummaryReport | string> {
    const request = parseQuery(summaryQuerySchema, query);
    const report = await this.summaries.execute(request);
    if (!wantsCsv(request, accept)) {
      return report;
    }
    sendAsCsv(res, 'report', report);
    return toCsv(SUMMARY_CSV_HEADER, summaryCsvRows(report));
  }

  @Get('applications')
  @Access('read')
  async perApplication(
    @Query() query: unknown,
    @Headers('accept') accept: string | undefined,
    @Res({ passthrough: true }) res: Response,
  ): Promise<ApplicationsReport | string> {
    const request = parseQuery(applicationsQuerySchema, query);
    const report = await this.applications.execute(request);
    if (!wantsCsv(request, accept)) {
      return report;
    }
    sendAsCsv(res, 'applications', report);
    return toCsv(APPLICATIONS_CSV_HEADER, applicationsCsvRows(report));
  }
}

/** `format` decides; without it, an Accept header naming `text/csv` does. */
function wantsCsv(query: ReportQuery, accept: string | undefined): boolean {
  if (query.format !== undefined) {
    return query.format === 'csv';
  }
  return /(^|,)\s*text\/csv\s*(;|,|$)/i.test(accept ?? '');
}

/** `20261101T0000Z`: sortable and safe in a file name. */
const stamp = (iso: string): string => iso.slice(0, 16).replaceAll('-', '').replace(':', '') + 'Z';

function sendAsCsv(
  res: Response,
  kind: string,
  report: { tenantId: string; from: string; to: string },
): void {
  // The tenant id is validated (`ten_` and hex), so the file name needs no escaping.
  const name = `${kind}-${report.tenantId}-${stamp(report.from)}-${stamp(report.to)}.csv`;
  res.setHeader('content-type', 'text/csv; charset=utf-8');
  res.setHeader('content-disposition', `attachment; filename="${name}"`);
}
