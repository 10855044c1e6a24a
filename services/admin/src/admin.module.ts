import { AuditRepository, StatsRepository, SuppressionRepository } from '@ser/data';
import { CoreModule, MONGO, secretBoxProvider } from '@ser/runtime';
import type { MongoConnection } from '@ser/mongo';
import type { CoreOptions } from '@ser/runtime';
import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { ApplicationsController } from './applications/applications.controller';
import { ApplicationsService } from './applications/applications.service';
import { CredentialsController } from './applications/credentials.controller';
import { CredentialsService } from './applications/credentials.service';
import { AuditController } from './audit/audit.controller';
import { DnsHealthController } from './dns-health/dns-health.controller';
import { DnsHealthService } from './dns-health/dns-health.service';
import { HealthController } from './health/health.controller';
import { BearerTokenGuard } from './http/bearer-token.guard';
import { ProblemFilter } from './http/problem.filter';
import { MessageActionsService } from './messages/message-actions.service';
import { MessageSampleService } from './messages/message-sample.service';
import { MessagesController } from './messages/messages.controller';
import { QuarantineController } from './messages/quarantine.controller';
import { ApplicationsReportUseCase } from './reports/applications-report.use-case';
import { ReportsController } from './reports/reports.controller';
import { SummaryReportUseCase } from './reports/summary-report.use-case';
import { retentionProviders } from './retention/retention.providers';
import { SuppressionsController } from './suppressions/suppressions.controller';
import { SuppressionsService } from './suppressions/suppressions.service';
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
        QuarantineController,
        AuditController,
        DnsHealthController,
        SuppressionsController,
        ReportsController,
      ],
      providers: [
        secretBoxProvider('admin'),
        TenantAdminService,
        ApplicationsService,
        CredentialsService,
        MessageActionsService,
        MessageSampleService,
        ...retentionProviders,
        DnsHealthService,
        SuppressionsService,
        SummaryReportUseCase,
        ApplicationsReportUseCase,
        // Read-only here: reporting is the one writer of the statistics buckets.
        {
          provide: StatsRepository,
          useFactory: (m: MongoConnection) => new StatsRepository(m.db),
          inject: [MONGO],
        },
        {
          provide: SuppressionRepository,
          useFactory: (m: MongoConnection) => new SuppressionRepository(m.db),
          inject: [MONGO],
        },
        // The admin service is the only writer of the audit log.
        {
          provide: AuditRepository,
          useFactory: (m: MongoConnection) => new AuditRepository(m.db),
          inject: [MONGO],
        },
        BearerTokenGuard,
        { provide: APP_FILTER, useClass: ProblemFilter },
      ],
    };
  }
}
