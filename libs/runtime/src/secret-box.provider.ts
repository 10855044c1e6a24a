import type { RelayConfig, ServiceName } from '@ser/config';
import { requireSetting } from '@ser/config';
import { SecretBox } from '@ser/security';
import type { Provider } from '@nestjs/common';
import { CONFIG } from './tokens';

/**
 * The master-key box for services that seal or open secrets (signer, admin). Keys in
 * `SER_MASTER_KEY_PREVIOUS` still open what they sealed, during a master key rotation.
 */
export function secretBoxProvider(service: ServiceName): Provider {
  return {
    provide: SecretBox,
    useFactory: (config: RelayConfig) =>
      new SecretBox(
        requireSetting(config.SER_MASTER_KEY, 'SER_MASTER_KEY', service),
        config.SER_MASTER_KEY_PREVIOUS,
      ),
    inject: [CONFIG],
  };
}
