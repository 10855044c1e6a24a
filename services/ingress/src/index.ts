import type { ServiceDefinition } from '@ser/runtime';
import { IngressModule } from './ingress.module';

export { SmtpListenerService } from './smtp/smtp-listener.service';
export { ReceivingSweeperService } from './sweeper/receiving-sweeper.service';

export const ingressService: ServiceDefinition = {
  name: 'ingress',
  module: (core) => IngressModule.register(core),
};
