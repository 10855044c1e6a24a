import { Body, Controller, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { Access } from '../auth/access.decorator';
import { Actor } from '../http/actor.decorator';
import { parseBody, parseQuery } from '../http/parse-body';
import { createDomainSchema } from '../tenants/tenant-admin.schemas';
import { domainView } from './domain.view';
import { domainsQuerySchema, verifyDomainSchema } from './domains.schemas';
import { DomainsService } from './domains.service';

/** A tenant's domains, with the TXT record that proves control of each. */
@Controller('v1')
export class DomainsController {
  constructor(private readonly domains: DomainsService) {}

  @Post('tenants/:tenantId/domains')
  @Access('manage')
  async create(@Param('tenantId') tenantId: string, @Body() body: unknown) {
    return domainView(await this.domains.create(tenantId, parseBody(createDomainSchema, body).name));
  }

  @Get('tenants/:tenantId/domains')
  @Access('read')
  async list(@Param('tenantId') tenantId: string, @Query() query: unknown) {
    const { limit, cursor } = parseQuery(domainsQuerySchema, query);
    const { page, nextCursor } = await this.domains.list(tenantId, cursor, limit);
    return { items: page.map(domainView), nextCursor };
  }

  @Get('domains/:domainId')
  @Access('read')
  async get(@Param('domainId') domainId: string) {
    return domainView(await this.domains.get(domainId));
  }

  @Post('domains/:domainId/verify')
  @Access('manage')
  @HttpCode(200)
  async verify(@Param('domainId') domainId: string, @Body() body: unknown, @Actor() actor: string) {
    parseBody(verifyDomainSchema, body);
    return domainView(await this.domains.verify(domainId, actor));
  }
}
