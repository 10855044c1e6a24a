import type { ServiceDefinition } from '@ser/runtime';
import { EgressModule } from './egress.module';

export const egressService: ServiceDefinition = {
  name: 'egress',
  module: (core) => EgressModule.register(core),
};
