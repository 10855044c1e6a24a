export { loadConfig, requireSetting, ConfigError, SERVICE_NAMES, isCidr } from './relay-config';
export type { RelayConfig, ServiceName } from './relay-config';
export { readVariable } from './env-source';
export type { Env } from './env-source';
