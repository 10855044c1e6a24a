import { isIPv4, isIPv6 } from 'node:net';
import type { Answer } from 'dns-packet';

/** Record types the test DNS server can serve. */
export type DnsRecordType = 'A' | 'AAAA' | 'CNAME' | 'MX' | 'PTR' | 'TXT';

export interface MxRecord {
  preference: number;
  exchange: string;
}

/**
 * One TXT record: a plain string (split into 255-byte <character-string>s
 * automatically) or explicit chunks (each chunk is split further if too long).
 */
export type TxtRecord = string | readonly string[];

/** The shape of one record's data, per record type. */
export interface DnsRecordData {
  A: string;
  AAAA: string;
  CNAME: string;
  MX: MxRecord;
  PTR: string;
  TXT: TxtRecord;
}

export interface DnsRecordOptions {
  /** TTL in seconds for this RRset; defaults to the server's TTL. */
  ttl?: number;
}

export type DnsRcode = 'NOERROR' | 'NXDOMAIN' | 'SERVFAIL';

export interface DnsLookupResult {
  rcode: DnsRcode;
  answers: Answer[];
}

type RecordsInput = {
  [K in DnsRecordType]: { type: K; records: readonly DnsRecordData[K][] };
}[DnsRecordType];

type StoredRRset =
  | { type: 'A' | 'AAAA' | 'CNAME' | 'PTR'; ttl: number; data: string[] }
  | { type: 'MX'; ttl: number; data: MxRecord[] }
  | { type: 'TXT'; ttl: number; data: Buffer[][] };

/** RFC 1035 §3.3: a <character-string> holds at most 255 octets. */
const MAX_CHARACTER_STRING = 255;
/** Bound CNAME chains so a loop configured by a test cannot hang the server. */
const MAX_CNAME_CHAIN = 8;

/** Names compare case-insensitively (RFC 4343) and the trailing root dot is optional. */
export function normalizeName(name: string): string {
  return name.trim().replace(/\.$/, '').toLowerCase();
}

/**
 * In-memory authoritative data for every name: the server answers for the whole
 * namespace, so anything not stored here is NXDOMAIN.
 */
export class DnsZone {
  private readonly names = new Map<string, Map<DnsRecordType, StoredRRset>>();

  constructor(private readonly defaultTtl: number) {
    assertTtl(defaultTtl);
  }

  set<T extends DnsRecordType>(
    name: string,
    type: T,
    records: readonly DnsRecordData[T][],
    options: DnsRecordOptions = {},
  ): void {
    const key = normalizeName(name);
    // The generic pair is always one member of RecordsInput; TS cannot correlate it by itself.
    const rrset = buildRRset({ type, records } as RecordsInput, options.ttl ?? this.defaultTtl);
    const node = this.names.get(key) ?? new Map<DnsRecordType, StoredRRset>();
    assertCnameExclusive(key, type, node);
    if (rrset.data.length === 0) node.delete(type);
    else node.set(type, rrset);
    if (node.size === 0) this.names.delete(key);
    else this.names.set(key, node);
  }

  add<T extends DnsRecordType>(
    name: string,
    type: T,
    records: readonly DnsRecordData[T][],
    options: DnsRecordOptions = {},
  ): void {
    const existing = this.names.get(normalizeName(name))?.get(type);
    const ttl = options.ttl ?? existing?.ttl ?? this.defaultTtl;
    const merged = [...this.recordsOf(existing), ...records] as readonly DnsRecordData[T][];
    this.set(name, type, merged, { ttl });
  }

  remove(name: string, type?: DnsRecordType): void {
    const key = normalizeName(name);
    if (type === undefined) this.names.delete(key);
    else this.set(key, type, []);
  }

  clear(): void {
    this.names.clear();
  }

  /**
   * RFC 1034 §4.3.2 step 3: answer from the node, restarting at the CNAME target
   * when the name is an alias (unless the CNAME itself was asked for).
   */
  lookup(name: string, qtype: string): DnsLookupResult {
    const answers: Answer[] = [];
    let owner = name.replace(/\.$/, '');
    for (let hop = 0; hop <= MAX_CNAME_CHAIN; hop++) {
      const key = normalizeName(owner);
      const node = this.names.get(key);
      // RFC 6604 §3: the rcode describes the last name in the chain.
      if (!node) return { rcode: this.hasDescendant(key) ? 'NOERROR' : 'NXDOMAIN', answers };
      const cname = node.get('CNAME');
      if (cname?.type === 'CNAME' && qtype !== 'CNAME') {
        answers.push(...toAnswers(cname, owner));
        owner = cname.data[0] ?? owner;
        continue;
      }
      const rrset = node.get(qtype as DnsRecordType);
      return { rcode: 'NOERROR', answers: rrset ? [...answers, ...toAnswers(rrset, owner)] : answers };
    }
    return { rcode: 'SERVFAIL', answers: [] };
  }

  /** RFC 8020: an empty non-terminal (e.g. `_domainkey.example.com`) exists, so it is NODATA, not NXDOMAIN. */
  private hasDescendant(key: string): boolean {
    const suffix = `.${key}`;
    for (const stored of this.names.keys()) if (stored.endsWith(suffix)) return true;
    return false;
  }

  private recordsOf(rrset: StoredRRset | undefined): readonly DnsRecordData[DnsRecordType][] {
    if (!rrset) return [];
    if (rrset.type === 'TXT') return rrset.data.map((chunks) => chunks.map((c) => c.toString('utf8')));
    return rrset.data;
  }
}

function buildRRset(input: RecordsInput, ttl: number): StoredRRset {
  assertTtl(ttl);
  switch (input.type) {
    case 'A':
      return { type: 'A', ttl, data: input.records.map((r) => checkIp(r, 4)) };
    case 'AAAA':
      return { type: 'AAAA', ttl, data: input.records.map((r) => checkIp(r, 6)) };
    case 'CNAME':
      // RFC 2181 §10.1: an alias has exactly one CNAME record.
      if (input.records.length > 1) throw new Error('A name can have only one CNAME record');
      return { type: 'CNAME', ttl, data: input.records.map(normalizeTarget) };
    case 'PTR':
      return { type: 'PTR', ttl, data: input.records.map(normalizeTarget) };
    case 'MX':
      return { type: 'MX', ttl, data: input.records.map(checkMx) };
    case 'TXT':
      return { type: 'TXT', ttl, data: input.records.map(toCharacterStrings) };
  }
}

function toAnswers(rrset: StoredRRset, name: string): Answer[] {
  const base = { name, ttl: rrset.ttl, class: 'IN' as const };
  switch (rrset.type) {
    case 'MX':
      return rrset.data.map((data) => ({ ...base, type: 'MX', data }));
    case 'TXT':
      return rrset.data.map((data) => ({ ...base, type: 'TXT', data }));
    default:
      return rrset.data.map((data) => ({ ...base, type: rrset.type, data }));
  }
}

/** RFC 1034 §3.6.2: a CNAME cannot coexist with other data at the same name. */
function assertCnameExclusive(key: string, type: DnsRecordType, node: Map<DnsRecordType, StoredRRset>): void {
  const others = [...node.keys()].filter((t) => t !== type);
  if ((type === 'CNAME' && others.length > 0) || (type !== 'CNAME' && others.includes('CNAME'))) {
    throw new Error(`${key}: CNAME cannot coexist with other records (has ${others.join(', ')})`);
  }
}

/** Splits on byte boundaries without cutting a UTF-8 sequence in half. */
export function toCharacterStrings(record: TxtRecord): Buffer[] {
  const chunks = typeof record === 'string' ? [record] : record;
  const out: Buffer[] = [];
  for (const chunk of chunks) {
    let bytes = Buffer.from(chunk, 'utf8');
    if (bytes.length === 0) out.push(bytes);
    while (bytes.length > 0) {
      let cut = Math.min(bytes.length, MAX_CHARACTER_STRING);
      while (cut < bytes.length && cut > 0 && ((bytes[cut] ?? 0) & 0xc0) === 0x80) cut--;
      out.push(bytes.subarray(0, cut));
      bytes = bytes.subarray(cut);
    }
  }
  return out;
}

function checkIp(value: string, family: 4 | 6): string {
  if (!(family === 4 ? isIPv4(value) : isIPv6(value)))
    throw new Error(`Not an IPv${family} address: ${value}`);
  return value;
}

function checkMx(record: MxRecord): MxRecord {
  if (!Number.isInteger(record.preference) || record.preference < 0 || record.preference > 0xffff) {
    throw new Error(`MX preference must be a 16-bit unsigned integer: ${record.preference}`);
  }
  // RFC 7505: a "null MX" has the root as exchange ("." or ""), meaning the domain accepts no mail.
  const isNullMx = record.exchange.trim() === '.' || record.exchange.trim() === '';
  return { preference: record.preference, exchange: isNullMx ? '' : normalizeTarget(record.exchange) };
}

function normalizeTarget(target: string): string {
  const value = target.trim().replace(/\.$/, '');
  if (value.length === 0) throw new Error('Target name must not be empty');
  return value;
}

/** RFC 2181 §8: a TTL is an unsigned 31-bit value. */
function assertTtl(ttl: number): void {
  if (!Number.isInteger(ttl) || ttl < 0 || ttl > 0x7fffffff) throw new Error(`Invalid TTL: ${ttl}`);
}
