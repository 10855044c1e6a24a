import { SuppressionRepository } from '@ser/data';
import type { MongoConnection } from '@ser/mongo';
import { CoreModule, MONGO } from '@ser/runtime';
import type { CoreOptions } from '@ser/runtime';
import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { DsnSender } from './bounces/dsn-sender';
import { DeliverMessageUseCase } from './delivery/deliver-message.use-case';
import { DeliveryReconciler } from './delivery/delivery-reconciler';
import { DeliveryTransport } from './delivery/delivery-transport';
import { OutboxFlusher } from './delivery/outbox-flusher';
import { DnsClient } from './dns/dns-client';
import { MxResolver } from './dns/mx-resolver';
import { DeliverMessageProcessor } from './jobs/deliver-message.processor';
import { DestinationLimits } from './limits/destination-limits';
import { EgressMetrics } from './metrics/egress-metrics';
import { MtaStsResolver } from './mta-sts/mta-sts-resolver';
import { SmtpConnectionPool } from './smtp/connection-pool';

@Module({})
export class EgressModule {
  static register(core: CoreOptions): DynamicModule {
    return {
      module: EgressModule,
      imports: [CoreModule.forRoot(core)],
      providers: [
        {
          provide: SuppressionRepository,
          useFactory: (m: MongoConnection) => new SuppressionRepository(m.db),
          inject: [MONGO],
        },
        EgressMetrics,
        DnsClient,
        MxResolver,
        MtaStsResolver,
        DestinationLimits,
        SmtpConnectionPool,
        DeliveryTransport,
        DsnSender,
        OutboxFlusher,
        DeliverMessageUseCase,
        DeliverMessageProcessor,
        DeliveryReconciler,
      ],
    };
  }
}
