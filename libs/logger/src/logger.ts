import pino from 'pino';
import type { DestinationStream, Logger } from 'pino';
import { scrubSecrets } from './scrub-secrets';

export type { Logger };

/**
 * Field names (in any case) whose values never reach a log line (invariant 7): they read
 * `[redacted]` wherever they are in a line's fields, up to four objects down.
 */
export const SECRET_FIELDS: readonly string[] = [
  'password',
  // nodemailer's `auth: { user, pass }` (smarthost AUTH)
  'pass',
  'secret',
  'token',
  'authorization',
  'cookie',
  'privateKey',
  'privateKeyPem',
  'masterKey',
  'SER_MASTER_KEY',
  'SER_MASTER_KEY_PREVIOUS',
  'SER_ADMIN_TOKEN',
  // Connection URLs may hold a password (`redis://:pw@host`, `mongodb://user:pw@host`).
  'MONGO_URL',
  'REDIS_URL',
  'mongoUrl',
  'redisUrl',
];

const SECRET = new Set(SECRET_FIELDS.map((name) => name.toLowerCase()));
const CENSOR = '[redacted]';
const MAX_DEPTH = 4;

export interface LoggerOptions {
  level: string;
  pretty: boolean;
  service?: string;
  /** Where the JSON lines go instead of stdout (tests that read them); ignored when `pretty`. */
  destination?: DestinationStream;
}

function isSecret(name: string): boolean {
  return SECRET.has(name.toLowerCase());
}

/** Plain objects and arrays: what a log call builds. Class instances (errors, buffers) are left alone. */
function isPlain(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) {
    return false;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  return Array.isArray(value) || proto === Object.prototype || proto === null;
}

/**
 * The fields of a line with the value of every secret-named field censored. Copies what it
 * changes, never the caller's object; a line without secrets is returned as it is (no cost but the
 * walk, far less than pino's wildcard redaction paths).
 */
export function redactFields(fields: Record<string, unknown>, depth = 0): Record<string, unknown> {
  let copy: Record<string, unknown> | undefined;
  for (const key of Object.keys(fields)) {
    const value = fields[key];
    let next = value;
    if (isSecret(key)) {
      next = value === undefined ? value : CENSOR;
    } else if (depth < MAX_DEPTH && isPlain(value)) {
      next = redactFields(value, depth + 1);
    }
    if (next !== value) {
      copy ??= (Array.isArray(fields) ? [...(fields as unknown[])] : { ...fields }) as Record<
        string,
        unknown
      >;
      copy[key] = next;
    }
  }
  return copy ?? fields;
}

const SERIALIZED_ERROR_PROTO: unknown = Object.getPrototypeOf(pino.stdSerializers.err(new Error('x')));

function isSerializedError(value: unknown): value is Record<string, unknown> {
  return (
    typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === SERIALIZED_ERROR_PROTO
  );
}

/**
 * `err` as pino's standard serializer writes it (type, message and stack with their causes, own
 * fields), with secrets cut out: secret-named fields censored, and the text scrubbed, since an
 * error message may quote a connection URL with its password, a token or a key.
 */
export function serializeError(err: unknown): unknown {
  const serialized: unknown = pino.stdSerializers.err(err as Error);
  return isSerializedError(serialized) ? scrubFresh(serialized, 0) : scrubValue(serialized, 0);
}

/** Scrubs an error the serializer made (a fresh object, never the caller's) in place. */
function scrubFresh(target: Record<string, unknown>, depth: number): Record<string, unknown> {
  for (const key of Object.keys(target)) {
    target[key] = isSecret(key) ? CENSOR : scrubValue(target[key], depth + 1);
  }
  return target;
}

/** A copy with its strings scrubbed and its secret-named fields censored; class instances kept. */
function scrubValue(value: unknown, depth: number): unknown {
  if (typeof value === 'string') {
    return scrubSecrets(value);
  }
  if (depth > MAX_DEPTH) {
    return value;
  }
  if (isSerializedError(value)) {
    // Errors nested in fields or in `aggregateErrors` were serialized afresh too.
    return scrubFresh(value, depth);
  }
  if (!isPlain(value)) {
    return value;
  }
  if (Array.isArray(value)) {
    return value.map((item: unknown) => scrubValue(item, depth + 1));
  }
  return Object.fromEntries(
    Object.entries(value).map(([key, item]) => [key, isSecret(key) ? CENSOR : scrubValue(item, depth + 1)]),
  );
}

const censor = (): string => CENSOR;

/** JSON logs (pretty in dev); constant messages, fields for the rest, a stable `code` per line. */
export function createLogger(options: LoggerOptions): Logger {
  const settings = {
    level: options.level,
    base: options.service === undefined ? {} : { service: options.service },
    // A line's fields go through `formatters.log`; child bindings do not, but go through the
    // serializers, which censor a secret-named binding.
    formatters: { log: (fields: Record<string, unknown>) => redactFields(fields) },
    serializers: { ...Object.fromEntries(SECRET_FIELDS.map((name) => [name, censor])), err: serializeError },
  };
  if (options.pretty) {
    return pino({ ...settings, transport: { target: 'pino-pretty', options: { colorize: true } } });
  }
  return options.destination === undefined ? pino(settings) : pino(settings, options.destination);
}
