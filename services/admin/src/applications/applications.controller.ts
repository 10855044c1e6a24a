import { Body, Controller, Get, Param, Patch, Post, Query } from '@nestjs/common';
import { Access } from '../auth/access.decorator';
import { parseBody, parseQuery } from '../http/parse-body';
import type { ApplicationDocument } from '@ser/data';
import { view } from '../http/view';
import {
  applicationsQuerySchema,
  createApplicationSchema,
  updateApplicationSchema,
} from './applications.schemas';
import { ApplicationsService } from './applications.service';

@Controller('v1')
export class ApplicationsController {
  constructor(private readonly applications: ApplicationsService) {}

  @Post('tenants/:tenantId/applications')
  @Access('manage')
  async createApplication(@Param('tenantId') tenantId: string, @Body() body: unknown) {
    return applicationView(
      await this.applications.createApplication(tenantId, parseBody(createApplicationSchema, body)),
    );
  }

  @Get('tenants/:tenantId/applications')
  @Access('read')
  async listApplications(@Param('tenantId') tenantId: string, @Query() query: unknown) {
    const { limit, cursor } = parseQuery(applicationsQuerySchema, query);
    const { page, nextCursor } = await this.applications.listApplications(tenantId, cursor, limit);
    return { items: page.map(view), nextCursor };
  }

  @Get('applications/:appId')
  @Access('read')
  async getApplication(@Param('appId') appId: string) {
    return applicationView(await this.applications.getApplication(appId));
  }

  @Patch('applications/:appId')
  @Access('manage')
  async updateApplication(@Param('appId') appId: string, @Body() body: unknown) {
    return applicationView(
      await this.applications.updateApplication(appId, parseBody(updateApplicationSchema, body)),
    );
  }
}

/** An application as the API shows it: the allowlist under its contract name `allowedIps` too. */
function applicationView(app: ApplicationDocument) {
  return {
    ...view(app),
    ...(app.allowedSourceIps === undefined ? {} : { allowedIps: app.allowedSourceIps }),
  };
}
