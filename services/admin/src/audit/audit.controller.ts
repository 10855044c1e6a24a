import { AuditRepository } from '@ser/data';
import { Controller, Get, Query } from '@nestjs/common';
import { Access } from '../auth/access.decorator';
import { parseQuery } from '../http/parse-body';
import { view } from '../http/view';
import { AUDIT_PAGE, auditQuerySchema } from './audit.schemas';

/** The audit log of decisions, newest first (operators; a tenant admin reads its tenant's). */
@Controller('v1/audit')
export class AuditController {
  constructor(private readonly audit: AuditRepository) {}

  @Get()
  @Access('manage')
  async list(@Query() query: unknown) {
    const filter = parseQuery(auditQuerySchema, query);
    return { items: (await this.audit.list(filter, AUDIT_PAGE)).map(view) };
  }
}
