import type { RelayConfig } from '@ser/config';
import { CONFIG } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import { isIP } from 'node:net';
import { domainToASCII } from 'node:url';
import { ipLiteralOf, isPublicAddress } from './address-policy';
import { DnsClient, DnsNotFoundError, DnsTemporaryError } from './dns-client';

export interface MxHost {
  /** The exchange's A-label name, or the IP itself for an address literal. */
  name: string;
  preference: number;
  /** IPv4 addresses first, then IPv6; empty when this host did not resolve. */
  addresses: string[];
}

export type MxLookup =
  /** `implicit`: the domain has no MX and its own address records stand in (RFC 5321 §5.1). */
  | { kind: 'hosts'; hosts: MxHost[]; implicit: boolean }
  /** `status` is the RFC 3463 enhanced status code of the bounce. */
  | { kind: 'permanent'; status: string; reason: string };

interface ResolvedHost {
  host: MxHost;
  /** Why A or AAAA could not be answered now, if so. */
  failure: unknown;
}

/** A domain with hundreds of MX records must not fan out into hundreds of lookups per delivery. */
const MAX_MX_HOSTS = 10;
const MAX_DOMAIN_LENGTH = 253;
const LABEL = /^(?!-)[a-z0-9_-]{1,63}$/;
const ASCII_NAME_CHAR = /^[A-Za-z0-9._-]$/;

/**
 * Where mail for a domain goes: MX hosts in preference order with their addresses, the implicit
 * MX when there is none, or a permanent reason not to try (NXDOMAIN, null MX, SSRF refusal).
 * Temporary DNS failures throw DnsTemporaryError so the delivery is retried.
 */
@Injectable()
export class MxResolver {
  private readonly allowPrivate: boolean;

  constructor(
    private readonly dns: DnsClient,
    @Inject(CONFIG) config: RelayConfig,
  ) {
    this.allowPrivate = config.SER_EGRESS_ALLOW_PRIVATE_MX;
  }

  async lookup(domain: string): Promise<MxLookup> {
    if (domain.trim().startsWith('[')) {
      return this.addressLiteral(domain);
    }
    const ascii = toAsciiDomain(domain);
    if (ascii === undefined) {
      return permanent('5.1.2', `${domain} is not a valid domain name`);
    }
    let records: { exchange: string; priority: number }[];
    try {
      records = await this.dns.mx(ascii);
    } catch (error) {
      if (error instanceof DnsNotFoundError) {
        return permanent('5.1.2', `domain ${ascii} does not exist`);
      }
      throw error;
    }
    if (records.length === 0) {
      return this.finish(ascii, [await this.resolveHost(ascii, 0)], true);
    }
    // RFC 7505 §3: the null MX is the root as exchange; a real exchange next to it wins.
    const exchanges = records.filter((record) => record.exchange !== '');
    if (exchanges.length === 0) {
      return permanent('5.1.10', `domain ${ascii} accepts no mail (null MX)`);
    }
    // RFC 5321 §5.1: an MX names a host, never an address; such records are ignored.
    const named = orderByPreference(exchanges.filter((record) => isIP(record.exchange) === 0));
    const hosts = await Promise.all(
      named.slice(0, MAX_MX_HOSTS).map((record) => this.resolveHost(record.exchange, record.priority)),
    );
    return this.finish(ascii, hosts, false);
  }

  private addressLiteral(domain: string): MxLookup {
    const ip = ipLiteralOf(domain);
    if (ip === undefined) {
      return permanent('5.1.2', `${domain} is not a valid address literal`);
    }
    if (!this.allowPrivate) {
      return permanent('5.1.2', `address literal ${domain} is refused`);
    }
    return { kind: 'hosts', hosts: [{ name: ip, preference: 0, addresses: [ip] }], implicit: true };
  }

  private async resolveHost(name: string, preference: number): Promise<ResolvedHost> {
    const results = await Promise.allSettled([this.dns.a(name), this.dns.aaaa(name)]);
    const addresses = results.flatMap((result) => (result.status === 'fulfilled' ? result.value : []));
    const failed = results.find(
      (result) => result.status === 'rejected' && !(result.reason instanceof DnsNotFoundError),
    );
    return {
      host: { name, preference, addresses },
      failure: failed?.status === 'rejected' ? failed.reason : undefined,
    };
  }

  private finish(domain: string, resolved: ResolvedHost[], implicit: boolean): MxLookup {
    const found = resolved.some(({ host }) => host.addresses.length > 0);
    const hosts = resolved.map(({ host }) => ({
      ...host,
      addresses: this.allowPrivate ? host.addresses : host.addresses.filter(isPublicAddress),
    }));
    if (hosts.some((host) => host.addresses.length > 0)) {
      return { kind: 'hosts', hosts, implicit };
    }
    // Nothing usable; a host that failed temporarily may still have a usable address.
    const failure = resolved.find((host) => host.failure !== undefined)?.failure;
    if (failure !== undefined) {
      throw new DnsTemporaryError(`no address resolved for the mail hosts of ${domain}`, { cause: failure });
    }
    if (found) {
      return permanent('5.4.4', `MX of ${domain} resolves only to non-public addresses (refused)`);
    }
    return implicit
      ? permanent('5.1.2', `domain ${domain} has no MX and no address records`)
      : permanent('5.4.4', `no MX host of ${domain} has an address record`);
  }
}

function permanent(status: string, reason: string): MxLookup {
  return { kind: 'permanent', status, reason };
}

/**
 * The A-label form of a domain (IDNA via WHATWG URL rules), lower-case without trailing dot,
 * or undefined when it is not a valid host name.
 */
export function toAsciiDomain(domain: string): string | undefined {
  const name = domain.trim().replace(/\.$/, '');
  if (name === '' || !hasOnlyNameCharacters(name)) {
    return undefined;
  }
  const ascii = domainToASCII(name);
  const valid =
    ascii.length > 0 && ascii.length <= MAX_DOMAIN_LENGTH && ascii.split('.').every((l) => LABEL.test(l));
  return valid ? ascii : undefined;
}

/** domainToASCII parses a URL host, so "a/b" would quietly become "a": refuse URL syntax first. */
function hasOnlyNameCharacters(name: string): boolean {
  for (let i = 0; i < name.length; i++) {
    if (name.charCodeAt(i) <= 0x7f && !ASCII_NAME_CHAR.test(name.charAt(i))) {
      return false;
    }
  }
  return true;
}

/** RFC 5321 §5.1: lowest preference first; hosts of equal preference in random order to spread load. */
export function orderByPreference<T extends { priority: number }>(
  records: readonly T[],
  random = Math.random,
): T[] {
  return records
    .map((record) => ({ record, tiebreak: random() }))
    .sort((a, b) => a.record.priority - b.record.priority || a.tiebreak - b.tiebreak)
    .map(({ record }) => record);
}
