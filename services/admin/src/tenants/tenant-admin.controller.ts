import { Body, Controller, Get, HttpCode, Param, Patch, Post, Query } from '@nestjs/common';
import { Actor, Caller } from '../http/actor.decorator';
import type { Principal } from '../http/actor.decorator';
import { problems } from '../http/problem';
import { Access } from '../auth/access.decorator';
import { parseBody, parseQuery } from '../http/parse-body';
import { tenantView } from './delivery-settings';
import {
  activateDkimKeySchema,
  createDkimKeySchema,
  createTenantSchema,
  retireDkimKeySchema,
  rewrapDkimKeysSchema,
  tenantsQuerySchema,
  updateTenantSchema,
} from './tenant-admin.schemas';
import { TenantAdminService } from './tenant-admin.service';

@Controller('v1')
export class TenantAdminController {
  constructor(private readonly admin: TenantAdminService) {}

  @Post('tenants')
  @Access('operator')
  async createTenant(@Body() body: unknown) {
    return tenantView(await this.admin.createTenant(parseBody(createTenantSchema, body).name));
  }

  /** Every tenant for operators; a tenant token sees its own. */
  @Get('tenants')
  @Access('read', { ownTenant: true })
  async listTenants(@Query() query: unknown, @Caller() caller: Principal) {
    const { limit, cursor } = parseQuery(tenantsQuerySchema, query);
    const { page, nextCursor } = await this.admin.listTenants(caller.tenantId, cursor, limit);
    return { items: page.map(tenantView), nextCursor };
  }

  @Get('tenants/:tenantId')
  @Access('read')
  async getTenant(@Param('tenantId') tenantId: string) {
    return tenantView(await this.admin.getTenant(tenantId));
  }

  @Patch('tenants/:tenantId')
  @Access('operator')
  async updateTenant(@Param('tenantId') tenantId: string, @Body() body: unknown, @Actor() actor: string) {
    return tenantView(await this.admin.updateTenant(tenantId, parseBody(updateTenantSchema, body), actor));
  }

  @Post('domains/:domainId/dkim-keys')
  @Access('manage')
  createDkimKey(@Param('domainId') domainId: string, @Body() body: unknown, @Actor() actor: string) {
    return this.admin.dkimKeys.create(domainId, parseBody(createDkimKeySchema, body), actor);
  }

  @Get('domains/:domainId/dkim-keys')
  @Access('read')
  listDkimKeys(@Param('domainId') domainId: string) {
    return this.admin.dkimKeys.list(domainId);
  }

  @Post('dkim-keys/rewrap')
  @Access('operator')
  @HttpCode(200)
  async rewrapDkimKeys(@Body() body: unknown, @Actor() actor: string) {
    parseBody(rewrapDkimKeysSchema, body);
    // Every secret under the master key moves together, so the old key can go after one call.
    const dkim = await this.admin.dkimKeys.rewrap(actor);
    return { ...dkim, routePasswords: await this.admin.rewrapRoutePasswords(actor) };
  }

  @Post('dkim-keys/:keyId/activate')
  @Access('manage')
  @HttpCode(200)
  activateDkimKey(@Param('keyId') keyId: string, @Body() body: unknown, @Caller() caller: Principal) {
    const { force } = parseBody(activateDkimKeySchema, body);
    return this.admin.dkimKeys.activate(keyId, operatorOnlyForce(force, caller), caller.actor);
  }

  @Post('dkim-keys/:keyId/retire')
  @Access('manage')
  @HttpCode(200)
  retireDkimKey(@Param('keyId') keyId: string, @Body() body: unknown, @Caller() caller: Principal) {
    const { force } = parseBody(retireDkimKeySchema, body);
    return this.admin.dkimKeys.retire(keyId, operatorOnlyForce(force, caller), caller.actor);
  }
}

/**
 * `force` skips the DNS check of an activation or the last-key guard of a retirement: an operator's
 * override, never a tenant's (a tenant could otherwise sign with a key nobody published).
 */
function operatorOnlyForce(force: boolean, caller: Principal): boolean {
  if (force && caller.role !== 'operator') {
    throw problems.forbidden('only operators may force a DKIM key change');
  }
  return force;
}
