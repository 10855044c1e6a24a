import type { ServiceDefinition } from '@ser/runtime';
import { SignerModule } from './signer.module';

export const signerService: ServiceDefinition = {
  name: 'signer',
  module: (core) => SignerModule.register(core),
};
