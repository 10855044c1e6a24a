import { AuditRepository } from '@ser/data';
import { Controller, Get, Query, UseGuards } from '@nestjs/common';
import { BearerTokenGuard } from '../http/bearer-token.guard';
import { parseQuery } from '../http/parse-body';
import { view } from '../http/view';
import { AUDIT_PAGE, auditQuerySchema } from './audit.schemas';

/** The audit log of operator decisions, newest first (operators only). */
@Controller('v1/audit')
@UseGuards(BearerTokenGuard)
export class AuditController {
  constructor(private readonly audit: AuditRepository) {}

  @Get()
  async list(@Query() query: unknown) {
    const filter = parseQuery(auditQuerySchema, query);
    return { items: (await this.audit.list(filter, AUDIT_PAGE)).map(view) };
  }
}
