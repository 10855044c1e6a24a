import type { ServiceDefinition } from '@ser/runtime';
import { IngressModule } from './ingress.module';

export { SmtpListenerService } from './smtp/smtp-listener.service';

export const ingressService: ServiceDefinition = {
  name: 'ingress',
  module: (core) => IngressModule.register(core),
};
