import { CoreModule, secretBoxProvider } from '@ser/runtime';
import type { CoreOptions } from '@ser/runtime';
import { Module } from '@nestjs/common';
import type { DynamicModule } from '@nestjs/common';
import { SigningKeys } from './dkim/signing-keys';
import { SignJobReconciler } from './jobs/sign-job-reconciler';
import { SignMessageProcessor } from './jobs/sign-message.processor';
import { SignMessageUseCase } from './sign/sign-message.use-case';

@Module({})
export class SignerModule {
  static register(core: CoreOptions): DynamicModule {
    return {
      module: SignerModule,
      imports: [CoreModule.forRoot(core)],
      providers: [
        secretBoxProvider('signer'),
        SigningKeys,
        SignMessageUseCase,
        SignMessageProcessor,
        SignJobReconciler,
      ],
    };
  }
}
