export * from './tokens';
export { Readiness } from './readiness';
export { CoreModule } from './core.module';
export type { CoreOptions } from './core.module';
export { startServices } from './service-runner';
export type { ServiceDefinition, RunningServices } from './service-runner';
export { runMain } from './main-runner';
export { JobProcessor } from './job-processor';
export { secretBoxProvider } from './secret-box.provider';
