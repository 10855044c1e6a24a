export { createLogger, redactFields, SECRET_FIELDS, serializeError } from './logger';
export type { Logger, LoggerOptions } from './logger';
export { scrubSecrets } from './scrub-secrets';
