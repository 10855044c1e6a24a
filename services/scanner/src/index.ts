import type { ServiceDefinition } from '@ser/runtime';
import { ScannerModule } from './scanner.module';

export const scannerService: ServiceDefinition = {
  name: 'scanner',
  module: (core) => ScannerModule.register(core),
};
