import { CoreModule } from '@ser/runtime';
import type { CoreOptions } from '@ser/runtime';
import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { DeliverMessageUseCase } from './delivery/deliver-message.use-case';
import { MxResolver } from './delivery/mx-resolver';
import { SmtpDelivery } from './delivery/smtp-delivery';
import { DeliverMessageProcessor } from './jobs/deliver-message.processor';

@Module({})
export class EgressModule {
  static register(core: CoreOptions): DynamicModule {
    return {
      module: EgressModule,
      imports: [CoreModule.forRoot(core)],
      providers: [MxResolver, SmtpDelivery, DeliverMessageUseCase, DeliverMessageProcessor],
    };
  }
}
