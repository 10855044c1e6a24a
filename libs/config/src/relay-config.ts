import { isIP } from 'node:net';
import { hostname } from 'node:os';
import { resolve } from 'node:path';
import { z } from 'zod';
import type { Env } from './env-source';
import { readVariable } from './env-source';

const port = z.coerce.number().int().min(0).max(65535);
const positiveInt = z.coerce.number().int().positive();
const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');

/** Every service name the relay knows; `SER_SERVICES` selects a subset to run in one process. */
export const SERVICE_NAMES = ['ingress', 'scanner', 'signer', 'egress', 'reporting', 'admin'] as const;
export type ServiceName = (typeof SERVICE_NAMES)[number];

const hostPort = z.string().regex(/^(\[[0-9a-fA-F:]+\]|[^\s:,]+)(:\d{1,5})?$/, 'expected host or host:port');

const serviceList = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x !== ''),
  )
  .pipe(z.array(z.enum(SERVICE_NAMES)).min(1, 'expected at least one service'))
  .or(z.literal('all').transform(() => [...SERVICE_NAMES]));

/** Variable name → schema. The names are a contract with operators (docs/configuration.md). */
const schema = {
  SER_SERVICES: z.string().default('all').pipe(serviceList),
  REDIS_URL: z.url().default('redis://127.0.0.1:6379'),
  MONGO_URL: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\//, 'expected a mongodb:// URL')
    .default('mongodb://127.0.0.1:27017/ser'),
  SER_MONGO_DB: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,63}$/)
    .optional(),
  SER_MONGO_WRITE_CONCERN: z.enum(['majority', '1']).default('majority'),
  SER_QUEUE_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,40}$/, 'letters, digits, _ and - only (no ":")')
    .default('ser'),
  SER_DATA_DIR: z.string().default('.data'),
  SER_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  SER_LOG_PRETTY: bool.default(false),
  SER_HOSTNAME: z.string().min(1).default(hostname()),
  /** Every process's ops endpoint (/healthz, /readyz, /metrics); 0 picks a free port (tests). */
  SER_OPS_BIND: z.string().min(1).default('0.0.0.0'),
  SER_OPS_PORT: port.default(9464),
  SER_MASTER_KEY: z.string().optional(),
  SER_MASTER_KEY_PREVIOUS: z
    .string()
    .optional()
    .transform((s, ctx) => parseMasterKeys(s, ctx)),
  SER_INGRESS_HOST: z.string().default('0.0.0.0'),
  SER_INGRESS_SUBMISSION_PORT: port.default(587),
  SER_INGRESS_SUBMISSIONS_PORT: port.default(465),
  SER_INGRESS_MAX_MESSAGE_BYTES: positiveInt.default(25 * 1024 * 1024),
  SER_INGRESS_MAX_RECIPIENTS: positiveInt.default(100),
  SER_INGRESS_MAX_CONNECTIONS: positiveInt.default(1000),
  SER_INGRESS_MAX_CONNECTIONS_PER_IP: positiveInt.default(50),
  SER_INGRESS_MAX_CONNECTIONS_PER_APP: positiveInt.default(50),
  SER_INGRESS_IDLE_TIMEOUT_MS: positiveInt.default(120_000),
  SER_INGRESS_SESSION_TIMEOUT_MS: positiveInt.default(1_800_000),
  SER_INGRESS_DRAIN_TIMEOUT_MS: positiveInt.default(20_000),
  SER_INGRESS_MAX_AUTH_ATTEMPTS: positiveInt.default(3),
  SER_INGRESS_AUTH_FAILURES_PER_IP: positiveInt.default(20),
  SER_INGRESS_AUTH_FAILURES_PER_USER: positiveInt.default(10),
  SER_INGRESS_AUTH_FAILURE_WINDOW_S: positiveInt.default(900),
  SER_INGRESS_AUTH_LOCKOUT_S: positiveInt.default(900),
  SER_INGRESS_RATE_MESSAGES_PER_MINUTE: positiveInt.default(600),
  SER_INGRESS_RATE_MESSAGES_PER_DAY: positiveInt.default(100_000),
  SER_INGRESS_RATE_RECIPIENTS_PER_DAY: positiveInt.default(200_000),
  SER_INGRESS_BULK_RECIPIENTS: positiveInt.default(20),
  SER_INGRESS_CONFIG_CACHE_MS: z.coerce.number().int().min(0).max(30_000).default(10_000),
  SER_INGRESS_PROXY_TRUSTED: z
    .string()
    .optional()
    .transform((s, ctx) => parseAddresses(s, ctx)),
  SER_INGRESS_SWEEP_INTERVAL_MS: positiveInt.default(60_000),
  SER_INGRESS_SWEEP_GRACE_MS: positiveInt.default(900_000),
  // At most 5 minutes: the scanner's `taken` mark (libs/queue acceptance-verdict.ts) must outlive it.
  SER_INGRESS_COMMIT_TIMEOUT_MS: positiveInt.max(300_000).default(30_000),
  SER_INGRESS_MAX_SCAN_BACKLOG: positiveInt.default(50_000),
  SER_INGRESS_MAX_CONCURRENT_DATA: positiveInt.default(200),
  SER_TLS_CERT_FILE: z.string().optional(),
  SER_TLS_KEY_FILE: z.string().optional(),
  SER_TLS_RELOAD_INTERVAL_MS: positiveInt.default(10_000),
  SER_CLAMD_HOST: z.string().default('127.0.0.1'),
  SER_CLAMD_PORT: port.default(3310),
  SER_CLAMD_TIMEOUT_MS: positiveInt.default(30000),
  SER_CLAMD_MAX_CONNECTIONS: positiveInt.default(4),
  SER_SPAMD_HOST: z.string().min(1).optional(),
  SER_SPAMD_PORT: port.default(783),
  SER_SPAMD_TIMEOUT_MS: positiveInt.default(30000),
  SER_SPAMSCANNER_ENABLED: bool.default(true),
  SER_SPAMSCANNER_CLASSIFIER_FILE: z.string().min(1).optional(),
  SER_SPAM_MAX_BYTES: positiveInt.default(2 * 1024 * 1024),
  SER_SCANNER_CONCURRENCY: positiveInt.default(4),
  SER_SCANNER_ATTEMPTS: positiveInt.default(8),
  SER_SCANNER_RETRY_DELAY_MS: positiveInt.default(2000),
  SER_SIGNER_CONCURRENCY: positiveInt.default(8),
  SER_DNS_SERVERS: z
    .string()
    .optional()
    .transform((s, ctx) => parseServers(s, ctx)),
  SER_DNS_TIMEOUT_MS: positiveInt.default(5000),
  SER_DNS_CACHE_MAX_TTL_S: z.coerce.number().int().min(0).default(3600),
  SER_QUEUE_LOCK_MS: z.coerce.number().int().min(1000).default(30_000),
  SER_EGRESS_PORT: port.default(25),
  SER_EGRESS_CONCURRENCY: positiveInt.default(10),
  SER_EGRESS_CONNECT_TIMEOUT_MS: positiveInt.default(30_000),
  SER_EGRESS_GREETING_TIMEOUT_MS: positiveInt.default(300_000),
  SER_EGRESS_COMMAND_TIMEOUT_MS: positiveInt.default(300_000),
  SER_EGRESS_DATA_TIMEOUT_MS: positiveInt.default(600_000),
  SER_EGRESS_RETRY_SCHEDULE: z
    .string()
    .default('5m,10m,30m,1h,2h,4h')
    .transform((s, ctx) => parseDurations(s, ctx)),
  SER_EGRESS_RETRY_JITTER: z.coerce.number().min(0).max(1).default(0.2),
  SER_EGRESS_MAX_AGE: z
    .string()
    .default('5d')
    .transform((s, ctx) => parseDurations(s, ctx)[0] ?? 0)
    .pipe(z.number().positive('expected one duration such as 5d')),
  SER_EGRESS_ALLOW_PRIVATE_MX: bool.default(false),
  SER_EGRESS_TLS_POLICIES: z
    .string()
    .optional()
    .transform((s, ctx) => parseTlsPolicies(s, ctx)),
  SER_EGRESS_CA_FILE: z.string().min(1).optional(),
  SER_EGRESS_MTA_STS_ENABLED: bool.default(true),
  SER_EGRESS_MTA_STS_PORT: port.default(443),
  SER_EGRESS_MAX_CONNECTIONS_PER_MX: positiveInt.default(10),
  SER_EGRESS_DOMAIN_RATE_PER_MINUTE: z.coerce.number().int().min(0).default(1200),
  SER_EGRESS_CONNECTION_IDLE_MS: z.coerce.number().int().min(0).default(5000),
  SER_EGRESS_MESSAGES_PER_CONNECTION: positiveInt.default(100),
  SER_EGRESS_SOURCE_ADDRESSES: z
    .string()
    .optional()
    .transform((s, ctx) => parseAddresses(s, ctx)),
  SER_EGRESS_SUPPRESSION_DAYS: z.coerce.number().int().min(0).default(30),
  SER_EGRESS_RECONCILE_INTERVAL_MS: positiveInt.default(300_000),
  SER_EGRESS_RECONCILE_GRACE_MS: positiveInt.default(600_000),
  SER_EGRESS_RECORD_TIMEOUT_MS: positiveInt.default(60_000),
  SER_PIPELINE_RECONCILE_INTERVAL_MS: positiveInt.default(300_000),
  SER_PIPELINE_RECONCILE_GRACE_MS: positiveInt.default(600_000),
  SER_REPORTING_CONCURRENCY: positiveInt.default(16),
  SER_REPORTING_SETTLE_INTERVAL_MS: z.coerce.number().int().min(1000).default(60_000),
  // At least 2: the settle pass recomputes the days of the events of the last hours, which reach
  // back into yesterday after midnight (docs/reporting.md, retention).
  SER_REPORTING_EVENT_RETENTION_DAYS: z.coerce
    .number()
    .int()
    .min(2, 'must be at least 2 (the settle pass recomputes yesterday from its raw events)')
    .default(35),
  SER_REPORTING_HOURLY_STATS_RETENTION_DAYS: positiveInt.default(62),
  SER_REPORTING_STATS_RETENTION_DAYS: positiveInt.default(400),
  SER_ADMIN_HOST: z.string().default('0.0.0.0'),
  SER_ADMIN_PORT: port.default(8080),
  SER_ADMIN_TOKEN: z.string().min(24, 'must be at least 24 characters').optional(),
  /** Serve the admin API over HTTPS with this certificate chain and key (PEM files); both or neither. */
  SER_ADMIN_AUDIT_RETENTION_DAYS: positiveInt.default(400),
  SER_ADMIN_TLS_CERT_FILE: z.string().min(1).optional(),
  SER_ADMIN_TLS_KEY_FILE: z.string().min(1).optional(),
  /** Each report query's bound on the database (maxTimeMS); past it the report answers 503. */
  SER_ADMIN_REPORT_TIMEOUT_MS: z.coerce.number().int().min(1).default(10_000),
  /** Requests per minute per token (and per client address without a valid token); 0: no limit. */
  SER_ADMIN_RATE_LIMIT_PER_MINUTE: z.coerce.number().int().min(0).default(600),
  SER_RELAY_SENDING_IPS: z
    .string()
    .optional()
    .transform((s, ctx) => parseAddresses(s, ctx)),
  SER_RELAY_SPF_INCLUDE: z
    .string()
    .regex(
      /^(?=.{1,253}$)([a-z0-9_]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/i,
      'expected a domain name',
    )
    .optional(),
} as const;

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** A comma list of durations: `500ms`, `30s`, `5m`, `2h`, `5d`. */
function parseDurations(value: string, ctx: z.RefinementCtx): number[] {
  const out: number[] = [];
  for (const entry of value.split(',').map((s) => s.trim())) {
    const match = /^(\d+)(ms|s|m|h|d)$/.exec(entry);
    if (match === null || Number(match[1]) === 0) {
      ctx.addIssue({ code: 'custom', message: `"${entry}" is not a duration such as 30s, 5m, 2h or 5d` });
      continue;
    }
    out.push(Number(match[1]) * (DURATION_UNITS[match[2] ?? ''] ?? 0));
  }
  return out;
}

export const TLS_POLICIES = ['none', 'opportunistic', 'require', 'verify'] as const;
export type TlsPolicyName = (typeof TLS_POLICIES)[number];

/**
 * `domain:policy` pairs, comma-separated, policy one of TLS_POLICIES; a domain starting with a dot
 * also matches its subdomains (`.bank.example:verify`).
 */
function parseTlsPolicies(value: string | undefined, ctx: z.RefinementCtx): Record<string, TlsPolicyName> {
  const out: Record<string, TlsPolicyName> = {};
  for (const entry of (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')) {
    const [domain = '', policy = '', extra] = entry.split(':');
    if (
      extra !== undefined ||
      !/^\.?([a-z0-9_]([a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9-]{1,63}$/i.test(domain) ||
      !(TLS_POLICIES as readonly string[]).includes(policy)
    ) {
      ctx.addIssue({
        code: 'custom',
        message: `"${entry}" is not domain:policy with policy ${TLS_POLICIES.join('|')}`,
      });
      continue;
    }
    out[domain.toLowerCase()] = policy as TlsPolicyName;
  }
  return out;
}

/** Older master keys, comma-separated: they still open what they sealed until everything is re-wrapped. */
function parseMasterKeys(value: string | undefined, ctx: z.RefinementCtx): string[] {
  const keys = (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  keys.forEach((key, index) => {
    // The message names the position, never the value: this is a secret.
    if (!/^[A-Za-z0-9+/]+={0,2}$/.test(key) || Buffer.from(key, 'base64').length !== 32) {
      ctx.addIssue({ code: 'custom', message: `key ${index + 1} is not 32 bytes, base64-encoded` });
    }
  });
  return keys;
}

function parseServers(value: string | undefined, ctx: z.RefinementCtx): string[] {
  if (value === undefined) {
    return [];
  }
  const servers = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const server of servers) {
    if (!hostPort.safeParse(server).success || !validPort(server)) {
      ctx.addIssue({ code: 'custom', message: `"${server}" is not host or host:port` });
    }
  }
  return servers;
}

/** A comma-separated list of exact IP addresses (smtp-server compares PROXY peers exactly). */
function parseAddresses(value: string | undefined, ctx: z.RefinementCtx): string[] {
  const entries = (value ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
  for (const entry of entries) {
    if (isIP(entry) === 0) {
      ctx.addIssue({ code: 'custom', message: `"${entry}" is not an IP address` });
    }
  }
  return entries;
}

export function isCidr(entry: string): boolean {
  const [address = '', bits, extra] = entry.split('/');
  const family = isIP(address);
  if (family === 0 || extra !== undefined) {
    return false;
  }
  if (bits === undefined) {
    return true;
  }
  return /^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}

/** The regex admits up to five digits; a port above 65535 (or 0) would only fail at the first lookup. */
function validPort(server: string): boolean {
  const port = /\]?:(\d+)$/.exec(server)?.[1];
  return port === undefined || (Number(port) >= 1 && Number(port) <= 65535);
}

/** Variables that may come from a file named by `<NAME>_FILE`. */
const SECRET_VARIABLES = new Set([
  'SER_MASTER_KEY',
  'SER_MASTER_KEY_PREVIOUS',
  'SER_ADMIN_TOKEN',
  'MONGO_URL',
  'REDIS_URL',
]);

type Schema = typeof schema;

/** Every variable the relay reads (each is documented in docs/configuration.md). */
export const CONFIG_VARIABLES = Object.keys(schema) as readonly (keyof Schema)[];
export type RelayEnv = { [K in keyof Schema]: z.output<Schema[K]> };

export interface RelayConfig extends RelayEnv {
  /** Database name: SER_MONGO_DB, else the MONGO_URL path, else `ser`. */
  readonly mongoDb: string;
  readonly dataDir: string;
}

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
    this.name = 'ConfigError';
  }
}

/** Validates the whole environment at once and reports every problem, naming the variable. */
export function loadConfig(env: Env = process.env): RelayConfig {
  const problems: string[] = [];
  const values: Record<string, unknown> = {};
  for (const [name, variable] of Object.entries(schema)) {
    const raw = SECRET_VARIABLES.has(name)
      ? readVariable(env, name, problems)
      : env[name]?.trim() || undefined;
    const parsed = (variable as z.ZodType).safeParse(raw);
    if (parsed.success) {
      values[name] = parsed.data;
    } else {
      problems.push(`${name}: ${parsed.error.issues.map((i) => i.message).join('; ')}`);
    }
  }
  if (problems.length === 0) {
    problems.push(...crossCheck(values as RelayEnv));
  }
  if (problems.length > 0) {
    throw new ConfigError(problems);
  }
  const relayEnv = values as RelayEnv;
  return {
    ...relayEnv,
    mongoDb: relayEnv.SER_MONGO_DB ?? databaseFromUrl(relayEnv.MONGO_URL) ?? 'ser',
    dataDir: resolve(relayEnv.SER_DATA_DIR),
  };
}

/** Rules between variables, checked once each variable is valid on its own. */
function crossCheck(env: RelayEnv): string[] {
  const problems: string[] = [];
  const events = env.SER_REPORTING_EVENT_RETENTION_DAYS;
  const hourly = env.SER_REPORTING_HOURLY_STATS_RETENTION_DAYS;
  const daily = env.SER_REPORTING_STATS_RETENTION_DAYS;
  if (hourly > daily) {
    problems.push(
      `SER_REPORTING_HOURLY_STATS_RETENTION_DAYS: must not exceed SER_REPORTING_STATS_RETENTION_DAYS (${String(hourly)} > ${String(daily)})`,
    );
  }
  // Statistics are rebuilt from the raw events: events kept longer than the hour buckets would
  // make a rebuild re-create buckets the purge already deleted.
  if (events > hourly) {
    problems.push(
      `SER_REPORTING_EVENT_RETENTION_DAYS: must not exceed SER_REPORTING_HOURLY_STATS_RETENTION_DAYS (${String(events)} > ${String(hourly)})`,
    );
  }
  if ((env.SER_ADMIN_TLS_CERT_FILE === undefined) !== (env.SER_ADMIN_TLS_KEY_FILE === undefined)) {
    problems.push('SER_ADMIN_TLS_CERT_FILE, SER_ADMIN_TLS_KEY_FILE: set both (HTTPS) or neither (HTTP)');
  }
  return problems;
}

function databaseFromUrl(url: string): string | undefined {
  const path = /^mongodb(?:\+srv)?:\/\/[^/]+\/([^?]+)/.exec(url)?.[1];
  return path === undefined || path === '' ? undefined : decodeURIComponent(path);
}

/** What a service needs that the generic schema leaves optional; checked when that service starts. */
export function requireSetting<T>(value: T | undefined, name: string, service: ServiceName): T {
  if (value === undefined) {
    throw new ConfigError([`${name}: required by the ${service} service`]);
  }
  return value;
}
