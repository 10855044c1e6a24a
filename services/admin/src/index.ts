import type { ServiceDefinition } from '@ser/runtime';
import { AdminModule } from './admin.module';

export const adminService: ServiceDefinition = {
  name: 'admin',
  module: (core) => AdminModule.register(core),
  http: { port: (config) => config.SER_ADMIN_PORT, host: (config) => config.SER_ADMIN_HOST },
};
