import pino from 'pino';
import type { Logger } from 'pino';

export type { Logger };

/** Paths whose values must never reach a log line (invariant 7). */
export const REDACTED_PATHS = [
  'password',
  'secret',
  'token',
  'authorization',
  'privateKey',
  'privateKeyPem',
  '*.password',
  '*.secret',
  '*.token',
  '*.authorization',
  '*.privateKey',
  '*.privateKeyPem',
  '*.*.password',
  '*.*.secret',
  '*.*.privateKey',
  '*.*.privateKeyPem',
  'req.headers.authorization',
];

export interface LoggerOptions {
  level: string;
  pretty: boolean;
  service?: string;
}

/** JSON logs (pretty in dev); constant messages, fields for the rest, a stable `code` per line. */
export function createLogger(options: LoggerOptions): Logger {
  return pino({
    level: options.level,
    base: options.service === undefined ? {} : { service: options.service },
    redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
    transport: options.pretty ? { target: 'pino-pretty', options: { colorize: true } } : undefined,
  });
}
