import { Body, Controller, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { Actor } from '../http/actor.decorator';
import { Access } from '../auth/access.decorator';
import { parseBody } from '../http/parse-body';
import { view } from '../http/view';
import { tenantView } from './delivery-settings';
import {
  activateDkimKeySchema,
  createDkimKeySchema,
  createDomainSchema,
  createTenantSchema,
  retireDkimKeySchema,
  rewrapDkimKeysSchema,
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

  @Post('tenants/:tenantId/domains')
  @Access('manage')
  async createDomain(@Param('tenantId') tenantId: string, @Body() body: unknown) {
    return view(await this.admin.createDomain(tenantId, parseBody(createDomainSchema, body).name));
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
  activateDkimKey(@Param('keyId') keyId: string, @Body() body: unknown, @Actor() actor: string) {
    return this.admin.dkimKeys.activate(keyId, parseBody(activateDkimKeySchema, body).force, actor);
  }

  @Post('dkim-keys/:keyId/retire')
  @Access('manage')
  @HttpCode(200)
  retireDkimKey(@Param('keyId') keyId: string, @Body() body: unknown, @Actor() actor: string) {
    return this.admin.dkimKeys.retire(keyId, parseBody(retireDkimKeySchema, body).force, actor);
  }
}
