export { loadConfig, requireSetting, ConfigError, SERVICE_NAMES, isCidr, TLS_POLICIES } from './relay-config';
export type { RelayConfig, ServiceName, TlsPolicyName } from './relay-config';
export { readVariable } from './env-source';
export type { Env } from './env-source';
