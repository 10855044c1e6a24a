import { z } from 'zod';

/** RFC 8461 §3.2: "maximum value of 31557600" seconds (about one year). */
export const MTA_STS_MAX_AGE_LIMIT = 31_557_600;

export type MtaStsMode = 'enforce' | 'testing' | 'none';

/** What the policy file says; the id comes from the TXT record, not from the file. */
export interface ParsedMtaStsPolicy {
  mode: MtaStsMode;
  /** Lower-cased, without trailing dots; may be empty only when `mode` is `none`. */
  mx: string[];
  /** Seconds. */
  maxAge: number;
}

/** A domain's MTA-STS policy as fetched (RFC 8461 §3.2) under the TXT record id it was fetched for. */
export interface MtaStsPolicy {
  id: string;
  mode: MtaStsMode;
  /** Lower-case MX patterns, `*.` wildcards included; match with `mxMatches`. */
  mx: string[];
  /** Seconds the policy stays valid after `fetchedAt`. */
  maxAge: number;
  /** ISO 8601. */
  fetchedAt: string;
}

/** The cached form of a policy, checked when read back from Redis. */
export const mtaStsPolicySchema: z.ZodType<MtaStsPolicy> = z.object({
  id: z.string().min(1),
  mode: z.enum(['enforce', 'testing', 'none']),
  mx: z.array(z.string()),
  maxAge: z.number().int().nonnegative(),
  fetchedAt: z.iso.datetime(),
});

/**
 * The outcome of the `_mta-sts` TXT lookup as §3.1 reads it: `absent` and `invalid` both mean
 * "no available policy"; `invalid` is worth a log line (the domain tried to publish one).
 */
export type StsRecordResult =
  { kind: 'found'; id: string } | { kind: 'absent' } | { kind: 'invalid'; reason: string };

/** Why a policy could not be fetched, for logs and metrics. */
export type MtaStsFetchFailure =
  | 'address'
  | 'certificate'
  | 'redirect'
  | 'status'
  | 'content-type'
  | 'too-large'
  | 'timeout'
  | 'network'
  | 'invalid-policy';

export class MtaStsFetchError extends Error {
  constructor(
    readonly reason: MtaStsFetchFailure,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'MtaStsFetchError';
  }
}

/** §3.3 lets senders bound the policy body; 64 KiB is far above any real policy. */
export const MAX_POLICY_BYTES = 64 * 1024;

/** OpenSSL verification codes and Node's host name check, as `code` on a request error. */
const CERTIFICATE_ERRORS = /CERT|SELF_SIGNED|UNABLE_TO_(GET|VERIFY)/;

/**
 * §3.3: the policy is a `200` `text/plain` response of bounded size; a redirect is refused, not
 * followed. Throws MtaStsFetchError for anything else.
 */
export function checkPolicyResponse(
  status: number,
  contentType: string | undefined,
  contentLength: string | undefined,
): void {
  if (status >= 300 && status < 400) {
    throw new MtaStsFetchError('redirect', `HTTP ${status}: redirects are not followed (RFC 8461 §3.3)`);
  }
  if (status !== 200) {
    throw new MtaStsFetchError('status', `HTTP ${status}`);
  }
  const mediaType = (contentType ?? '').split(';')[0]?.trim().toLowerCase();
  if (mediaType !== 'text/plain') {
    throw new MtaStsFetchError('content-type', `Content-Type ${mediaType || '(none)'} is not text/plain`);
  }
  if (Number(contentLength ?? 0) > MAX_POLICY_BYTES) {
    throw new MtaStsFetchError('too-large', `policy larger than ${MAX_POLICY_BYTES} bytes`);
  }
}

/** Classifies what went wrong while fetching a policy. */
export function fetchFailureOf(error: unknown): MtaStsFetchFailure {
  if (error instanceof MtaStsFetchError) {
    return error.reason;
  }
  if (error instanceof MtaStsPolicyError) {
    return 'invalid-policy';
  }
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' && CERTIFICATE_ERRORS.test(code) ? 'certificate' : 'network';
}

/** A policy file that does not follow §3.2; the sender then has no (new) policy. */
export class MtaStsPolicyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'MtaStsPolicyError';
  }
}

const STS_ID = /^[A-Za-z0-9]{1,32}$/;
const EXT_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,31}$/;
const EXT_VALUE = /^[\x21-\x3a\x3c\x3e-\x7e]+$/;
const MODES: readonly string[] = ['enforce', 'testing', 'none'] satisfies MtaStsMode[];
const MAX_AGE = /^\d{1,10}$/;
const LABEL = /^[a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?$/;

/**
 * §3.1: records not beginning with `v=STSv1` are discarded; unless exactly one remains and it is
 * syntactically valid, the domain has no available policy.
 */
export function parseStsRecord(records: readonly string[]): StsRecordResult {
  const candidates = records.filter((r) => /^v=STSv1([ \t;]|$)/.test(r));
  if (candidates.length === 0) {
    return { kind: 'absent' };
  }
  if (candidates.length > 1) {
    return { kind: 'invalid', reason: `${candidates.length} v=STSv1 records` };
  }
  return parseOneRecord(candidates[0] ?? '');
}

function parseOneRecord(record: string): StsRecordResult {
  // sts-text-record = sts-version 1*(sts-field-delim sts-field) [sts-field-delim],
  // sts-field-delim = *WSP ";" *WSP
  const [version = '', ...rest] = record.split(';');
  const fields = rest.map((f) => f.replace(/^[ \t]+|[ \t]+$/g, ''));
  if (fields.at(-1) === '') {
    fields.pop();
  }
  if (version.replace(/[ \t]+$/, '') !== 'v=STSv1') {
    return { kind: 'invalid', reason: 'malformed version field' };
  }
  let id: string | undefined;
  for (const field of fields) {
    const eq = field.indexOf('=');
    const name = field.slice(0, eq);
    const value = field.slice(eq + 1);
    if (eq < 0 || !EXT_NAME.test(name) || !EXT_VALUE.test(value)) {
      return { kind: 'invalid', reason: 'malformed field' };
    }
    if (name === 'id') {
      if (id !== undefined || !STS_ID.test(value)) {
        return { kind: 'invalid', reason: 'invalid or repeated id' };
      }
      id = value;
    }
  }
  return id === undefined ? { kind: 'invalid', reason: 'no id field' } : { kind: 'found', id };
}

/**
 * Parses a policy file (§3.2): `key: value` lines ended by CRLF or LF, unknown keys ignored,
 * `mx` repeatable. Throws MtaStsPolicyError when the file is not a valid STSv1 policy.
 */
export function parsePolicy(text: string): ParsedMtaStsPolicy {
  const fields = new Map<string, string>();
  const mx: string[] = [];
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') {
      continue;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) {
      throw new MtaStsPolicyError('policy line without "key:"');
    }
    const key = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (key === 'mx') {
      mx.push(parseMxPattern(value));
    } else if (fields.has(key) && isKnownKey(key)) {
      throw new MtaStsPolicyError(`policy field "${key}" repeated`);
    } else {
      fields.set(key, value);
    }
  }
  if (fields.get('version') !== 'STSv1') {
    throw new MtaStsPolicyError('policy version is not STSv1');
  }
  const mode = fields.get('mode') ?? '';
  if (!isMode(mode)) {
    throw new MtaStsPolicyError('policy mode is not enforce, testing or none');
  }
  // §8.3 removes a policy with `mode: none` and no mx at all; the other modes need a pattern.
  if (mx.length === 0 && mode !== 'none') {
    throw new MtaStsPolicyError('policy has no mx pattern');
  }
  return { mode, mx, maxAge: parseMaxAge(fields.get('max_age')) };
}

function isKnownKey(key: string): boolean {
  return key === 'version' || key === 'mode' || key === 'max_age';
}

function isMode(mode: string): mode is MtaStsMode {
  return MODES.includes(mode);
}

function parseMaxAge(value: string | undefined): number {
  if (value === undefined || !MAX_AGE.test(value)) {
    throw new MtaStsPolicyError('policy max_age is missing or not a number of seconds');
  }
  const seconds = Number(value);
  if (seconds > MTA_STS_MAX_AGE_LIMIT) {
    throw new MtaStsPolicyError(`policy max_age exceeds ${MTA_STS_MAX_AGE_LIMIT}`);
  }
  return seconds;
}

/** sts-policy-mx-value = ["*."] Domain */
function parseMxPattern(value: string): string {
  const pattern = normalizeHost(value);
  const labels = (pattern.startsWith('*.') ? pattern.slice(2) : pattern).split('.');
  if (labels.some((l) => !LABEL.test(l))) {
    throw new MtaStsPolicyError('policy mx pattern is not a host name or *.domain');
  }
  return pattern;
}

/** Host names compare case-insensitively (RFC 4343); a trailing root dot changes nothing. */
export function normalizeHost(host: string): string {
  return host.trim().toLowerCase().replace(/\.+$/, '');
}

/**
 * §4.1: an MX host matches a pattern exactly, or a `*.` pattern whose wildcard stands for
 * exactly one leftmost label (`*.example.com` matches `mx.example.com`, not `example.com`
 * nor `a.mx.example.com`).
 */
export function mxMatches(patterns: readonly string[], host: string): boolean {
  const name = normalizeHost(host);
  if (name === '') {
    return false;
  }
  return patterns.some((raw) => {
    const pattern = normalizeHost(raw);
    if (!pattern.startsWith('*.')) {
      return pattern === name;
    }
    const dot = name.indexOf('.');
    return dot > 0 && name.slice(dot + 1) === pattern.slice(2);
  });
}
