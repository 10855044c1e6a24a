import { isCidr } from '@ser/config';
import { z } from 'zod';
import { DOMAIN_NAME } from '../tenants/tenant-admin.schemas';

/** Entries per list setting: ingress checks every entry on every message or connection. */
export const MAX_LIST_ENTRIES = 100;

// RFC 5321 §4.5.3.1.1 and §4.5.3.1.3.
const MAX_LOCAL_PART = 64;
const MAX_ADDRESS = 254;
// dot-atom text (RFC 5322 §3.2.3); `*` is atext already, so a pattern is a dot-atom too.
const LOCAL_PART = /^[a-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;

/**
 * Why `pattern` (already trimmed and lowercased) is not a valid `allowedFromAddresses` entry, or
 * `undefined` if it is. Ingress (`matchesAddressPattern`) compares the domain exactly and globs only
 * the local part, so a `*` in the domain would silently never match: it is refused here instead.
 * Quoted local parts are refused: no sender this relay signs for needs one.
 */
export function addressPatternProblem(pattern: string): string | undefined {
  const parts = pattern.split('@');
  const [local = '', domain = ''] = parts;
  if (parts.length !== 2) {
    return 'must contain exactly one @';
  }
  if (domain.includes('*')) {
    return '* is allowed in the local part only';
  }
  if (!DOMAIN_NAME.test(domain)) {
    return 'the domain part is not a valid domain name';
  }
  if (local.length === 0 || local.length > MAX_LOCAL_PART) {
    return `the local part must be 1 to ${MAX_LOCAL_PART} characters`;
  }
  if (!LOCAL_PART.test(local)) {
    return "the local part may hold only letters, digits, !#$%&'*+/=?^_`{|}~- and single inner dots";
  }
  if (pattern.length > MAX_ADDRESS) {
    return `must be at most ${MAX_ADDRESS} characters`;
  }
  return undefined;
}

const addressPattern = z
  .string()
  .trim()
  .toLowerCase()
  .superRefine((value, ctx) => {
    const problem = addressPatternProblem(value);
    if (problem !== undefined) {
      ctx.addIssue({ code: 'custom', message: problem });
    }
  });

/** Lowercase From address patterns; `*` in the local part only. */
export const allowedFromAddresses = z.array(addressPattern).max(MAX_LIST_ENTRIES);

/** IPv4 or IPv6 addresses or CIDR blocks; ingress skips an entry it cannot parse, so none gets in. */
export const allowedSourceIps = z
  .array(z.string().trim().refine(isCidr, 'not an IP address or CIDR block'))
  .max(MAX_LIST_ENTRIES);

export const bulkPolicy = z.enum(['reject', 'flag']);

/**
 * Upper bounds well above any real need: they catch typos (a day limit pasted into the minute
 * field) and keep the values exact in Redis counters and JavaScript numbers.
 */
export const LIMIT_MAXIMA = {
  messagesPerMinute: 1_000_000,
  messagesPerDay: 100_000_000,
  recipientsPerDay: 1_000_000_000,
  maxConnections: 10_000,
} as const;

const limit = (max: number) => z.number().int().positive().max(max);

export const limits = z
  .object({
    messagesPerMinute: limit(LIMIT_MAXIMA.messagesPerMinute).optional(),
    messagesPerDay: limit(LIMIT_MAXIMA.messagesPerDay).optional(),
    recipientsPerDay: limit(LIMIT_MAXIMA.recipientsPerDay).optional(),
    maxConnections: limit(LIMIT_MAXIMA.maxConnections).optional(),
  })
  .strict();

/** A merge patch of the limits: a number sets one limit, `null` removes it, absent keeps it. */
export const limitsPatch = z
  .object({
    messagesPerMinute: limit(LIMIT_MAXIMA.messagesPerMinute).nullable().optional(),
    messagesPerDay: limit(LIMIT_MAXIMA.messagesPerDay).nullable().optional(),
    recipientsPerDay: limit(LIMIT_MAXIMA.recipientsPerDay).nullable().optional(),
    maxConnections: limit(LIMIT_MAXIMA.maxConnections).nullable().optional(),
  })
  .strict();
