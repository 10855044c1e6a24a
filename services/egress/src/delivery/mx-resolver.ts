import type { RelayConfig } from '@ser/config';
import { CONFIG } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import { Resolver } from 'node:dns/promises';

export interface MxHost {
  name: string;
  preference: number;
  addresses: string[];
}

export type MxLookup = { kind: 'hosts'; hosts: MxHost[] } | { kind: 'permanent'; reason: string };

export class DnsTemporaryError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DnsTemporaryError';
  }
}

const PERMANENT_CODES = new Set(['ENOTFOUND']);
const NO_DATA_CODES = new Set(['ENODATA']);

function codeOf(error: unknown): string | undefined {
  return typeof error === 'object' && error !== null ? (error as { code?: string }).code : undefined;
}

/** MX resolution through the configured resolvers (RFC 5321 §5.1, null MX RFC 7505). */
@Injectable()
export class MxResolver {
  private readonly resolver: Resolver;

  constructor(@Inject(CONFIG) config: RelayConfig) {
    this.resolver = new Resolver({ timeout: 3000, tries: 2 });
    if (config.SER_DNS_SERVERS.length > 0) {
      this.resolver.setServers(config.SER_DNS_SERVERS);
    }
  }

  async lookup(domain: string): Promise<MxLookup> {
    let records: { exchange: string; priority: number }[];
    try {
      records = await this.resolver.resolveMx(domain);
    } catch (error) {
      const code = codeOf(error);
      if (code !== undefined && PERMANENT_CODES.has(code)) {
        return { kind: 'permanent', reason: `domain ${domain} does not exist` };
      }
      if (code === undefined || !NO_DATA_CODES.has(code)) {
        throw new DnsTemporaryError(`MX lookup for ${domain} failed`, { cause: error });
      }
      // No MX: the domain itself is the implicit MX (RFC 5321 §5.1).
      records = [{ exchange: domain, priority: 0 }];
    }
    if (records.length === 1 && (records[0]?.exchange === '' || records[0]?.exchange === '.')) {
      return { kind: 'permanent', reason: `domain ${domain} accepts no mail (null MX)` };
    }
    const sorted = [...records].sort((a, b) => a.priority - b.priority);
    const hosts: MxHost[] = [];
    for (const record of sorted) {
      hosts.push({
        name: record.exchange,
        preference: record.priority,
        addresses: await this.addresses(record.exchange),
      });
    }
    return { kind: 'hosts', hosts };
  }

  private async addresses(host: string): Promise<string[]> {
    const [v4, v6] = await Promise.allSettled([this.resolver.resolve4(host), this.resolver.resolve6(host)]);
    return [...(v4.status === 'fulfilled' ? v4.value : []), ...(v6.status === 'fulfilled' ? v6.value : [])];
  }
}
