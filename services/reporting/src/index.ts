import type { ServiceDefinition } from '@ser/runtime';
import { ReportingModule } from './reporting.module';

export const reportingService: ServiceDefinition = {
  name: 'reporting',
  module: (core) => ReportingModule.register(core),
};
