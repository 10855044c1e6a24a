import { Body, Controller, Param, Patch, Post } from '@nestjs/common';
import { Access } from '../auth/access.decorator';
import { parseBody } from '../http/parse-body';
import { view } from '../http/view';
import { createApplicationSchema, updateApplicationSchema } from './applications.schemas';
import { ApplicationsService } from './applications.service';

@Controller('v1')
export class ApplicationsController {
  constructor(private readonly applications: ApplicationsService) {}

  @Post('tenants/:tenantId/applications')
  @Access('manage')
  async createApplication(@Param('tenantId') tenantId: string, @Body() body: unknown) {
    return view(
      await this.applications.createApplication(tenantId, parseBody(createApplicationSchema, body)),
    );
  }

  @Patch('applications/:appId')
  @Access('manage')
  async updateApplication(@Param('appId') appId: string, @Body() body: unknown) {
    return view(await this.applications.updateApplication(appId, parseBody(updateApplicationSchema, body)));
  }
}
