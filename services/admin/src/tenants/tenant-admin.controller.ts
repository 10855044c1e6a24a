import { Body, Controller, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { BearerTokenGuard } from '../http/bearer-token.guard';
import { parseBody } from '../http/parse-body';
import {
  activateDkimKeySchema,
  createApplicationSchema,
  createDkimKeySchema,
  createDomainSchema,
  createTenantSchema,
} from './tenant-admin.schemas';
import { TenantAdminService } from './tenant-admin.service';

const view = <T extends { _id: string }>({ _id, ...rest }: T): Omit<T, '_id'> & { id: string } => ({
  id: _id,
  ...rest,
});

@Controller('v1')
@UseGuards(BearerTokenGuard)
export class TenantAdminController {
  constructor(private readonly admin: TenantAdminService) {}

  @Post('tenants')
  async createTenant(@Body() body: unknown) {
    return view(await this.admin.createTenant(parseBody(createTenantSchema, body).name));
  }

  @Get('tenants/:tenantId')
  async getTenant(@Param('tenantId') tenantId: string) {
    return view(await this.admin.getTenant(tenantId));
  }

  @Post('tenants/:tenantId/domains')
  async createDomain(@Param('tenantId') tenantId: string, @Body() body: unknown) {
    return view(await this.admin.createDomain(tenantId, parseBody(createDomainSchema, body).name));
  }

  @Post('domains/:domainId/dkim-keys')
  createDkimKey(@Param('domainId') domainId: string, @Body() body: unknown) {
    return this.admin.createDkimKey(domainId, parseBody(createDkimKeySchema, body));
  }

  @Post('dkim-keys/:keyId/activate')
  @HttpCode(200)
  activateDkimKey(@Param('keyId') keyId: string, @Body() body: unknown) {
    return this.admin.activateDkimKey(keyId, parseBody(activateDkimKeySchema, body));
  }

  @Post('tenants/:tenantId/applications')
  async createApplication(@Param('tenantId') tenantId: string, @Body() body: unknown) {
    return view(await this.admin.createApplication(tenantId, parseBody(createApplicationSchema, body)));
  }

  @Post('applications/:appId/credentials')
  createCredential(@Param('appId') appId: string) {
    return this.admin.createCredential(appId);
  }
}
