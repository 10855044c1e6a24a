import { BlockList, isIPv4, isIPv6 } from 'node:net';
import type { DnsAnswer, DnsLookup } from './dns-lookup';
import { expandMacros } from './spf-macro';
import { parseSpfRecord, selectSpfRecord } from './spf-record';
import type { SpfMechanism, SpfQualifier } from './spf-record';

export type SpfResult = 'pass' | 'fail' | 'softfail' | 'neutral' | 'none' | 'permerror' | 'temperror';

export interface SpfEvaluation {
  result: SpfResult;
  /** The mechanism that decided, as published, and the domain whose record holds it. */
  mechanism?: string;
  domain?: string;
  /** Why, for errors and for mechanisms this check cannot evaluate. */
  detail?: string;
}

/** RFC 7208 §4.6.4: terms that cause DNS queries, across the whole evaluation. */
const LOOKUP_LIMIT = 10;
/** RFC 7208 §4.6.4: queries answering NXDOMAIN or no records. */
const VOID_LOOKUP_LIMIT = 2;
/** RFC 7208 §4.6.4: address queries for the exchanges of one `mx`. */
const MX_NAME_LIMIT = 10;

const QUALIFIER_RESULT: Record<SpfQualifier, SpfResult> = {
  '+': 'pass',
  '-': 'fail',
  '~': 'softfail',
  '?': 'neutral',
};

class SpfError extends Error {
  constructor(
    readonly result: 'permerror' | 'temperror',
    readonly detail: string,
  ) {
    super(detail);
    this.name = 'SpfError';
  }
}

/**
 * RFC 7208 check_host() for one IP and a domain: would a receiver accept mail from `ip` with
 * this envelope sender? `exists` and `ptr` depend on the connecting client and are reported
 * `neutral` when reached.
 */
export async function evaluateSpf(
  dns: DnsLookup,
  ip: string,
  domain: string,
  sender = `postmaster@${domain}`,
): Promise<SpfEvaluation> {
  const evaluation = new SpfEvaluationRun(dns, unmapIPv4(ip), sender);
  try {
    return await evaluation.checkHost(domain);
  } catch (error) {
    if (error instanceof SpfError) {
      return { result: error.result, detail: error.detail };
    }
    throw error;
  }
}

type MechanismOutcome = boolean | SpfEvaluation;

class SpfEvaluationRun {
  private lookups = 0;
  private voidLookups = 0;

  constructor(
    private readonly dns: DnsLookup,
    private readonly ip: string,
    private readonly sender: string,
  ) {}

  async checkHost(domain: string): Promise<SpfEvaluation> {
    const txt = await this.dns.txt(domain);
    if (txt.status === 'temperror') {
      throw new SpfError('temperror', `TXT lookup of ${domain} failed (${txt.code})`);
    }
    const selected = selectSpfRecord(txt.status === 'found' ? txt.records : []);
    if (selected.status === 'none') {
      return { result: 'none', domain, detail: `${domain} publishes no SPF record` };
    }
    if (selected.status === 'permerror') {
      throw new SpfError('permerror', `${domain}: ${selected.error}`);
    }
    const parsed = parseSpfRecord(selected.text);
    if (!parsed.ok) {
      throw new SpfError('permerror', `${domain}: ${parsed.error}`);
    }
    for (const mechanism of parsed.record.mechanisms) {
      const outcome = await this.matches(mechanism, domain);
      if (typeof outcome !== 'boolean') {
        return outcome;
      }
      if (outcome) {
        return { result: QUALIFIER_RESULT[mechanism.qualifier], mechanism: mechanism.term, domain };
      }
    }
    if (parsed.record.redirect !== undefined) {
      return this.redirect(parsed.record.redirect, domain);
    }
    return { result: 'neutral', domain, detail: 'no mechanism matched' };
  }

  private async redirect(spec: string, domain: string): Promise<SpfEvaluation> {
    this.countLookup();
    const target = this.expand(spec, domain);
    const result = await this.checkHost(target);
    if (result.result === 'none') {
      throw new SpfError('permerror', `redirect=${target}: no SPF record there`);
    }
    return result;
  }

  private async matches(mechanism: SpfMechanism, domain: string): Promise<MechanismOutcome> {
    switch (mechanism.kind) {
      case 'all':
        return true;
      case 'ip4':
      case 'ip6':
        return inNetwork(this.ip, mechanism.address, mechanism.prefix);
      case 'include':
        return this.include(mechanism.domain, domain);
      case 'a':
        this.countLookup();
        return this.addressMatches(this.expand(mechanism.domain ?? domain, domain), mechanism, true);
      case 'mx':
        this.countLookup();
        return this.mxMatches(this.expand(mechanism.domain ?? domain, domain), mechanism);
      case 'exists':
      case 'ptr':
        this.countLookup();
        return {
          result: 'neutral',
          mechanism: mechanism.term,
          domain,
          detail: `${mechanism.kind} depends on the connecting client and cannot be checked here`,
        };
    }
  }

  /** RFC 7208 §5.2: only a `pass` of the included record matches; `none` is a permerror. */
  private async include(spec: string, domain: string): Promise<boolean> {
    this.countLookup();
    const target = this.expand(spec, domain);
    const included = await this.checkHost(target);
    switch (included.result) {
      case 'pass':
        return true;
      case 'fail':
      case 'softfail':
      case 'neutral':
        return false;
      case 'temperror':
        throw new SpfError('temperror', included.detail ?? `include:${target} failed`);
      case 'permerror':
      case 'none':
        throw new SpfError('permerror', `include:${target}: ${included.detail ?? 'no SPF record there'}`);
    }
  }

  private async addressMatches(
    name: string,
    cidr: { cidr4: number; cidr6: number },
    countVoid: boolean,
  ): Promise<boolean> {
    const v4 = isIPv4(this.ip);
    const answer = v4 ? await this.dns.a(name) : await this.dns.aaaa(name);
    const addresses = this.recordsOf(answer, name, countVoid);
    return addresses.some((address) => inNetwork(this.ip, address, v4 ? cidr.cidr4 : cidr.cidr6));
  }

  private async mxMatches(name: string, cidr: { cidr4: number; cidr6: number }): Promise<boolean> {
    const exchanges = this.recordsOf(await this.dns.mx(name), name, true);
    if (exchanges.length > MX_NAME_LIMIT) {
      throw new SpfError('permerror', `mx:${name} has more than ${MX_NAME_LIMIT} MX records`);
    }
    for (const mx of [...exchanges].sort((x, y) => x.priority - y.priority)) {
      if (await this.addressMatches(mx.exchange, cidr, false)) {
        return true;
      }
    }
    return false;
  }

  private recordsOf<T>(answer: DnsAnswer<T>, name: string, countVoid: boolean): T[] {
    if (answer.status === 'temperror') {
      throw new SpfError('temperror', `lookup of ${name} failed (${answer.code})`);
    }
    if (answer.status === 'none') {
      if (countVoid && ++this.voidLookups > VOID_LOOKUP_LIMIT) {
        throw new SpfError('permerror', `more than ${VOID_LOOKUP_LIMIT} void DNS lookups`);
      }
      return [];
    }
    return answer.records;
  }

  private countLookup(): void {
    if (++this.lookups > LOOKUP_LIMIT) {
      throw new SpfError('permerror', `more than ${LOOKUP_LIMIT} DNS lookups`);
    }
  }

  private expand(spec: string, domain: string): string {
    const target = expandMacros(spec, { sender: this.sender, domain, ip: this.ip })
      .replace(/\.$/, '')
      .toLowerCase();
    if (!isDomainName(target)) {
      throw new SpfError('permerror', `"${spec}" does not expand to a domain name`);
    }
    return target;
  }
}

function isDomainName(name: string): boolean {
  return name.length <= 253 && name.split('.').every((label) => label.length > 0 && label.length <= 63);
}

function inNetwork(ip: string, network: string, prefix: number): boolean {
  const family = isIPv4(ip) ? 'ipv4' : 'ipv6';
  if ((isIPv4(network) ? 'ipv4' : 'ipv6') !== family || (family === 'ipv6' && !isIPv6(ip))) {
    return false;
  }
  const list = new BlockList();
  list.addSubnet(network, prefix, family);
  return list.check(ip, family);
}

/** RFC 7208 §5: an IPv4-mapped IPv6 client is treated as the IPv4 address. */
function unmapIPv4(ip: string): string {
  return /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1] ?? ip;
}
