import { CoreModule } from '@ser/runtime';
import type { CoreOptions } from '@ser/runtime';
import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { AcceptMessageUseCase } from './smtp/accept-message.use-case';
import { AuthenticateUseCase } from './smtp/authenticate.use-case';
import { SmtpListenerService } from './smtp/smtp-listener.service';

@Module({})
export class IngressModule {
  static register(core: CoreOptions): DynamicModule {
    return {
      module: IngressModule,
      imports: [CoreModule.forRoot(core)],
      providers: [AuthenticateUseCase, AcceptMessageUseCase, SmtpListenerService],
      exports: [SmtpListenerService],
    };
  }
}
