import { isIPv4, isIPv6 } from 'node:net';
import { isValidMacroString } from './spf-macro';

export type SpfQualifier = '+' | '-' | '~' | '?';

/** One directive of an SPF record (RFC 7208 §5); `term` is the text as published. */
export type SpfMechanism = { qualifier: SpfQualifier; term: string } & (
  | { kind: 'all' }
  | { kind: 'include' | 'exists'; domain: string }
  | { kind: 'a' | 'mx'; domain?: string; cidr4: number; cidr6: number }
  | { kind: 'ptr'; domain?: string }
  | { kind: 'ip4' | 'ip6'; address: string; prefix: number }
);

export interface SpfRecord {
  text: string;
  mechanisms: SpfMechanism[];
  /** RFC 7208 §6.1; `exp=` and unknown modifiers are accepted and ignored (§6.2, §6). */
  redirect?: string;
}

export type SpfParseResult = { ok: true; record: SpfRecord } | { ok: false; error: string };

export type SpfRecordSelection =
  { status: 'found'; text: string } | { status: 'none' } | { status: 'permerror'; error: string };

/** RFC 7208 §4.5: the version must be exactly `v=spf1`, followed by a space or the end. */
export function isSpfRecord(txt: string): boolean {
  return /^v=spf1( |$)/i.test(txt);
}

/** RFC 7208 §4.5: of a name's TXT records, none → `none`, more than one → `permerror`. */
export function selectSpfRecord(txts: readonly string[]): SpfRecordSelection {
  const records = txts.filter(isSpfRecord);
  const [first] = records;
  if (first === undefined) {
    return { status: 'none' };
  }
  if (records.length > 1) {
    return { status: 'permerror', error: `${records.length} SPF records were found; there must be one` };
  }
  return { status: 'found', text: first };
}

const MODIFIER = /^([a-z][a-z0-9._-]*)=(.*)$/i;
const DIRECTIVE = /^([+\-~?]?)([a-z0-9]+)(.*)$/i;

/** Parses a record (RFC 7208 §4.6.1, §12); any syntax error makes the whole record a permerror. */
export function parseSpfRecord(text: string): SpfParseResult {
  if (!isSpfRecord(text)) {
    return { ok: false, error: 'the record does not start with v=spf1' };
  }
  const record: SpfRecord = { text, mechanisms: [] };
  const seen = new Set<string>();
  for (const term of text.split(' ').slice(1)) {
    if (term === '') {
      continue;
    }
    const modifier = MODIFIER.exec(term);
    if (modifier !== null) {
      const name = (modifier[1] ?? '').toLowerCase();
      const value = modifier[2] ?? '';
      if ((name === 'redirect' || name === 'exp') && seen.has(name)) {
        return { ok: false, error: `the ${name}= modifier appears more than once` };
      }
      seen.add(name);
      if (!isValidMacroString(value) || (name === 'redirect' && value === '')) {
        return { ok: false, error: `invalid modifier "${term}"` };
      }
      if (name === 'redirect') {
        record.redirect = value;
      }
      continue;
    }
    const mechanism = parseDirective(term);
    if (typeof mechanism === 'string') {
      return { ok: false, error: mechanism };
    }
    record.mechanisms.push(mechanism);
  }
  return { ok: true, record };
}

function parseDirective(term: string): SpfMechanism | string {
  const match = DIRECTIVE.exec(term);
  if (match === null) {
    return `invalid term "${term}"`;
  }
  const qualifier = (match[1] || '+') as SpfQualifier;
  const name = (match[2] ?? '').toLowerCase();
  const rest = match[3] ?? '';
  const invalid = `invalid mechanism "${term}"`;
  const arg = rest.startsWith(':') ? rest.slice(1) : undefined;
  switch (name) {
    case 'all':
      return rest === '' ? { qualifier, term, kind: 'all' } : invalid;
    case 'include':
    case 'exists':
      return arg !== undefined && arg !== '' && isValidMacroString(arg)
        ? { qualifier, term, kind: name, domain: arg }
        : invalid;
    case 'ptr':
      if (rest === '') {
        return { qualifier, term, kind: 'ptr' };
      }
      return arg !== undefined && arg !== '' && isValidMacroString(arg)
        ? { qualifier, term, kind: 'ptr', domain: arg }
        : invalid;
    case 'a':
    case 'mx':
      return parseHostMechanism(qualifier, term, name, rest) ?? invalid;
    case 'ip4':
    case 'ip6':
      return parseNetwork(qualifier, term, name, arg) ?? invalid;
    default:
      return `unknown mechanism "${term}"`;
  }
}

/** `a` and `mx`: `[:domain-spec][/cidr4][//cidr6]` (RFC 7208 §5.3, §5.4). */
function parseHostMechanism(
  qualifier: SpfQualifier,
  term: string,
  kind: 'a' | 'mx',
  rest: string,
): SpfMechanism | undefined {
  const match = /^(?::([^/]+))?(?:\/(\d{1,2}))?(?:\/\/(\d{1,3}))?$/.exec(rest);
  if (match === null) {
    return undefined;
  }
  const [, domain, cidr4 = '32', cidr6 = '128'] = match;
  if (Number(cidr4) > 32 || Number(cidr6) > 128 || (domain !== undefined && !isValidMacroString(domain))) {
    return undefined;
  }
  return {
    qualifier,
    term,
    kind,
    ...(domain === undefined ? {} : { domain }),
    cidr4: Number(cidr4),
    cidr6: Number(cidr6),
  };
}

function parseNetwork(
  qualifier: SpfQualifier,
  term: string,
  kind: 'ip4' | 'ip6',
  arg: string | undefined,
): SpfMechanism | undefined {
  const [address = '', prefix, extra] = (arg ?? '').split('/');
  const max = kind === 'ip4' ? 32 : 128;
  const valid = kind === 'ip4' ? isIPv4(address) : isIPv6(address);
  if (!valid || extra !== undefined || (prefix !== undefined && !/^\d{1,3}$/.test(prefix))) {
    return undefined;
  }
  const bits = prefix === undefined ? max : Number(prefix);
  return bits > max ? undefined : { qualifier, term, kind, address, prefix: bits };
}
