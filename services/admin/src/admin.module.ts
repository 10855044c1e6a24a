import { ApiTokenRepository, AuditRepository, StatsRepository, SuppressionRepository } from '@ser/data';
import { CONFIG, CoreModule, MONGO, secretBoxProvider } from '@ser/runtime';
import type { RelayConfig } from '@ser/config';
import type { MongoConnection } from '@ser/mongo';
import type { CoreOptions } from '@ser/runtime';
import { Module } from '@nestjs/common';
import type { DynamicModule, MiddlewareConsumer, NestModule } from '@nestjs/common';
import { APP_FILTER, APP_GUARD, APP_INTERCEPTOR } from '@nestjs/core';
import { ApplicationsController } from './applications/applications.controller';
import { ApplicationsService } from './applications/applications.service';
import { CredentialsController } from './applications/credentials.controller';
import { CredentialsService } from './applications/credentials.service';
import { AuditController } from './audit/audit.controller';
import { AccessGuard } from './auth/access.guard';
import { RateLimiter } from './auth/rate-limiter';
import { TenantScope } from './auth/tenant-scope.service';
import { DnsHealthController } from './dns-health/dns-health.controller';
import { DnsHealthService } from './dns-health/dns-health.service';
import { DomainsController } from './domains/domains.controller';
import { DomainsService } from './domains/domains.service';
import { HealthController } from './health/health.controller';
import { AuditInterceptor } from './http/audit.interceptor';
import { ProblemFilter } from './http/problem.filter';
import { securityHeaders } from './http/security-headers.middleware';
import { MessageActionsService } from './messages/message-actions.service';
import { MessageSampleService } from './messages/message-sample.service';
import { MessagesController } from './messages/messages.controller';
import { QuarantineController } from './messages/quarantine.controller';
import { OpenApiController } from './openapi/openapi.controller';
import { ApplicationsReportUseCase } from './reports/applications-report.use-case';
import { ReportsController } from './reports/reports.controller';
import { SummaryReportUseCase } from './reports/summary-report.use-case';
import { retentionProviders } from './retention/retention.providers';
import { SuppressionsController } from './suppressions/suppressions.controller';
import { SuppressionsService } from './suppressions/suppressions.service';
import { TenantAdminController } from './tenants/tenant-admin.controller';
import { TenantAdminService } from './tenants/tenant-admin.service';
import { ApiTokensService } from './tokens/api-tokens.service';
import { TokensController } from './tokens/tokens.controller';

/** Every controller of the admin API (the access tests walk their routes). */
export const ADMIN_CONTROLLERS = [
  HealthController,
  TenantAdminController,
  DomainsController,
  ApplicationsController,
  CredentialsController,
  MessagesController,
  QuarantineController,
  AuditController,
  DnsHealthController,
  SuppressionsController,
  ReportsController,
  TokensController,
  OpenApiController,
];

@Module({})
export class AdminModule implements NestModule {
  configure(consumer: MiddlewareConsumer): void {
    consumer.apply(securityHeaders).forRoutes('{*path}');
  }

  static register(core: CoreOptions): DynamicModule {
    return {
      module: AdminModule,
      imports: [CoreModule.forRoot(core)],
      controllers: ADMIN_CONTROLLERS,
      providers: [
        secretBoxProvider('admin'),
        TenantAdminService,
        DomainsService,
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
          useFactory: (m: MongoConnection, config: RelayConfig) =>
            new StatsRepository(m.db, config.SER_ADMIN_REPORT_TIMEOUT_MS),
          inject: [MONGO, CONFIG],
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
        // The admin service is the only writer of API tokens.
        {
          provide: ApiTokenRepository,
          useFactory: (m: MongoConnection) => new ApiTokenRepository(m.db),
          inject: [MONGO],
        },
        ApiTokensService,
        TenantScope,
        // Every route passes the access guard; a route without `@Access` is for operators only.
        RateLimiter,
        { provide: APP_GUARD, useClass: AccessGuard },
        { provide: APP_INTERCEPTOR, useClass: AuditInterceptor },
        { provide: APP_FILTER, useClass: ProblemFilter },
      ],
    };
  }
}
