import type { DnsAnswer, DnsLookup, MxAnswer } from './dns-lookup';

type Records = { TXT?: string[]; A?: string[]; AAAA?: string[]; MX?: MxAnswer[] } | 'SERVFAIL';

/** A DnsLookup over a map for unit tests: a name not in the map is NXDOMAIN. */
export class FakeDns implements DnsLookup {
  readonly queries: string[] = [];

  constructor(private readonly zone: Record<string, Records>) {}

  txt(name: string): Promise<DnsAnswer<string>> {
    return this.answer(name, 'TXT');
  }

  a(name: string): Promise<DnsAnswer<string>> {
    return this.answer(name, 'A');
  }

  aaaa(name: string): Promise<DnsAnswer<string>> {
    return this.answer(name, 'AAAA');
  }

  mx(name: string): Promise<DnsAnswer<MxAnswer>> {
    return this.answer(name, 'MX');
  }

  private answer<T>(name: string, type: 'TXT' | 'A' | 'AAAA' | 'MX'): Promise<DnsAnswer<T>> {
    this.queries.push(`${type} ${name}`);
    const node = this.zone[name.toLowerCase()];
    if (node === undefined) {
      return Promise.resolve({ status: 'none', code: 'NXDOMAIN' });
    }
    if (node === 'SERVFAIL') {
      return Promise.resolve({ status: 'temperror', code: 'ESERVFAIL' });
    }
    const records = (node[type] ?? []) as T[];
    return Promise.resolve(
      records.length === 0 ? { status: 'none', code: 'NODATA' } : { status: 'found', records },
    );
  }
}
