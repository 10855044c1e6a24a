import { CoreModule, secretBoxProvider } from '@ser/runtime';
import type { CoreOptions } from '@ser/runtime';
import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ApplicationsController } from './applications/applications.controller';
import { ApplicationsService } from './applications/applications.service';
import { CredentialsController } from './applications/credentials.controller';
import { CredentialsService } from './applications/credentials.service';
import { HealthController } from './health/health.controller';
import { BearerTokenGuard } from './http/bearer-token.guard';
import { ProblemFilter } from './http/problem.filter';
import { MessagesController } from './messages/messages.controller';
import { TenantAdminController } from './tenants/tenant-admin.controller';
import { TenantAdminService } from './tenants/tenant-admin.service';

@Module({})
export class AdminModule {
  static register(core: CoreOptions): DynamicModule {
    return {
      module: AdminModule,
      imports: [CoreModule.forRoot(core)],
      controllers: [
        HealthController,
        TenantAdminController,
        ApplicationsController,
        CredentialsController,
        MessagesController,
      ],
      providers: [
        secretBoxProvider('admin'),
        TenantAdminService,
        ApplicationsService,
        CredentialsService,
        BearerTokenGuard,
        { provide: APP_FILTER, useClass: ProblemFilter },
      ],
    };
  }
}
