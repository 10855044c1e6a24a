import { getDomain } from 'tldts';
import type { DnsLookup } from './dns-lookup';
import { error, warning, withAdvice } from './findings';
import type { Finding, HealthStatus } from './findings';

export type DmarcPolicy = 'none' | 'quarantine' | 'reject';

export interface DmarcRecord {
  policy: DmarcPolicy;
  subdomainPolicy?: DmarcPolicy;
  pct: number;
  rua: string[];
}

export type DmarcParseResult = { ok: true; record: DmarcRecord } | { ok: false; error: string };

export interface DmarcReport {
  present: boolean;
  /** Where the record was found (or first looked for). */
  name: string;
  /** The organisational domain's record applies, this domain publishing none (RFC 7489 §6.6.3). */
  inherited: boolean;
  record: string | null;
  policy: DmarcPolicy | null;
  subdomainPolicy: DmarcPolicy | null;
  pct: number | null;
  rua: string[];
  status: HealthStatus;
  advice: string[];
}

const POLICIES: readonly string[] = ['none', 'quarantine', 'reject'];

/** RFC 7489 §6.3–6.4: `v=DMARC1` first, then `tag=value` pairs separated by `;`. */
export function parseDmarcRecord(text: string): DmarcParseResult {
  const [version, ...rest] = text.split(';').map((tag) => tag.trim());
  if (version === undefined || !/^v\s*=\s*DMARC1$/.test(version)) {
    return { ok: false, error: 'the record does not start with v=DMARC1' };
  }
  const tags = new Map<string, string>();
  for (const tag of rest.filter((t) => t !== '')) {
    const at = tag.indexOf('=');
    if (at < 1) {
      return { ok: false, error: `invalid tag "${tag}"` };
    }
    tags.set(tag.slice(0, at).trim().toLowerCase(), tag.slice(at + 1).trim());
  }
  const policy = tags.get('p')?.toLowerCase();
  const subdomainPolicy = tags.get('sp')?.toLowerCase();
  const pct = Number(tags.get('pct') ?? '100');
  if (policy === undefined || !POLICIES.includes(policy)) {
    return { ok: false, error: 'p= must be none, quarantine or reject' };
  }
  if (subdomainPolicy !== undefined && !POLICIES.includes(subdomainPolicy)) {
    return { ok: false, error: 'sp= must be none, quarantine or reject' };
  }
  if (!Number.isInteger(pct) || pct < 0 || pct > 100) {
    return { ok: false, error: 'pct= must be a whole number from 0 to 100' };
  }
  const rua = (tags.get('rua') ?? '')
    .split(',')
    .map((uri) => uri.trim())
    .filter((uri) => uri !== '');
  return {
    ok: true,
    record: {
      policy: policy as DmarcPolicy,
      ...(subdomainPolicy === undefined ? {} : { subdomainPolicy: subdomainPolicy as DmarcPolicy }),
      pct,
      rua,
    },
  };
}

/** The organisational domain by the Public Suffix List (RFC 7489 §3.2). */
export function organisationalDomain(domain: string): string {
  return getDomain(domain, { allowPrivateDomains: false }) ?? domain;
}

type Lookup = { status: 'found'; name: string; text: string } | { status: 'none' } | Finding;

/** RFC 7489 §6.6.3: the domain's `_dmarc` record, else the organisational domain's. */
export async function checkDmarc(dns: DnsLookup, domain: string): Promise<DmarcReport> {
  const own = `_dmarc.${domain}`;
  const orgDomain = organisationalDomain(domain);
  let found = await lookupDmarc(dns, own);
  if (!('severity' in found) && found.status === 'none' && orgDomain !== domain) {
    found = await lookupDmarc(dns, `_dmarc.${orgDomain}`);
  }
  const empty = { present: false, name: own, inherited: false, record: null, rua: [] };
  const none = { policy: null, subdomainPolicy: null, pct: null };
  if ('severity' in found) {
    return withAdvice({ ...empty, ...none }, [found]);
  }
  if (found.status === 'none') {
    const advice = warning(
      `No DMARC record at ${own}: publish TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@${orgDomain}" ` +
        'to start monitoring, then tighten p= once the reports show your mail passing',
    );
    return withAdvice({ ...empty, ...none }, [advice]);
  }
  const located = { present: true, name: found.name, inherited: found.name !== own, record: found.text };
  const parsed = parseDmarcRecord(found.text);
  if (!parsed.ok) {
    return withAdvice({ ...located, ...none, rua: [] }, [
      error(`The DMARC record at ${found.name} is invalid (${parsed.error}); receivers ignore it`),
    ]);
  }
  const { policy, subdomainPolicy, pct, rua } = parsed.record;
  return withAdvice(
    { ...located, policy, subdomainPolicy: subdomainPolicy ?? null, pct, rua },
    dmarcAdvice(parsed.record, found.name, located.inherited),
  );
}

function dmarcAdvice(record: DmarcRecord, name: string, inherited: boolean): Finding[] {
  const findings: Finding[] = [];
  const applied = inherited ? (record.subdomainPolicy ?? record.policy) : record.policy;
  if (applied === 'none') {
    findings.push(
      warning(
        `The DMARC policy at ${name} is p=none (monitoring only): once the aggregate reports show ` +
          'your mail passing, move to p=quarantine, then p=reject',
      ),
    );
  }
  if (record.rua.length === 0) {
    findings.push(warning(`The DMARC record at ${name} has no rua=: add one to receive aggregate reports`));
  }
  return findings;
}

async function lookupDmarc(dns: DnsLookup, name: string): Promise<Lookup> {
  const answer = await dns.txt(name);
  if (answer.status === 'temperror') {
    return warning(`The DMARC record at ${name} could not be looked up (${answer.code}); check again later`);
  }
  const records = answer.status === 'found' ? answer.records.filter((r) => /^v\s*=\s*DMARC1\b/.test(r)) : [];
  const [first] = records;
  if (first === undefined) {
    return { status: 'none' };
  }
  if (records.length > 1) {
    return error(`${name} publishes ${records.length} DMARC records; receivers apply none of them`);
  }
  return { status: 'found', name, text: first };
}
