import { requireSetting } from '@ser/config';
import type { ServiceDefinition } from '@ser/runtime';
import { readFileSync } from 'node:fs';
import { AdminModule } from './admin.module';

export const adminService: ServiceDefinition = {
  name: 'admin',
  module: (core) => {
    // Checked before any connection opens: without it nobody could issue the first API token.
    requireSetting(core.config.SER_ADMIN_TOKEN, 'SER_ADMIN_TOKEN', 'admin');
    return AdminModule.register(core);
  },
  http: {
    port: (config) => config.SER_ADMIN_PORT,
    host: (config) => config.SER_ADMIN_HOST,
    // Optional: TLS is usually terminated in front of the API (an ingress controller).
    tls: ({ SER_ADMIN_TLS_CERT_FILE: cert, SER_ADMIN_TLS_KEY_FILE: key }) =>
      cert === undefined || key === undefined
        ? undefined
        : { cert: readFileSync(cert), key: readFileSync(key) },
  },
};
