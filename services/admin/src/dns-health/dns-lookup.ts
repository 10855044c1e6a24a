import { Resolver } from 'node:dns/promises';

/**
 * The outcome of one DNS query, as RFC 7208 §5 and §2.6 need it: `none` is NXDOMAIN or an empty
 * answer (a "void lookup"); `temperror` is anything that retrying might fix (SERVFAIL, timeout).
 */
export type DnsAnswer<T> =
  | { status: 'found'; records: T[] }
  | { status: 'none'; code: 'NXDOMAIN' | 'NODATA' }
  | { status: 'temperror'; code: string };

export interface MxAnswer {
  exchange: string;
  priority: number;
}

/** The queries the DNS checks make; unit tests give a map, the service a real resolver. */
export interface DnsLookup {
  /** TXT records, the character-strings of each record concatenated (RFC 7208 §3.3, RFC 6376 §3.6.2.2). */
  txt(name: string): Promise<DnsAnswer<string>>;
  a(name: string): Promise<DnsAnswer<string>>;
  aaaa(name: string): Promise<DnsAnswer<string>>;
  mx(name: string): Promise<DnsAnswer<MxAnswer>>;
}

export interface ResolverOptions {
  /** `host` or `host:port`, as SER_DNS_SERVERS; empty uses the system resolvers. */
  servers: readonly string[];
  timeoutMs?: number;
  tries?: number;
}

/** node:dns with a timeout; answers are memoised for the lifetime of one report. */
export class NodeDnsLookup implements DnsLookup {
  private readonly resolver: Resolver;
  private readonly cache = new Map<string, Promise<DnsAnswer<unknown>>>();

  constructor(options: ResolverOptions) {
    this.resolver = new Resolver({ timeout: options.timeoutMs ?? 3000, tries: options.tries ?? 2 });
    if (options.servers.length > 0) {
      this.resolver.setServers([...options.servers]);
    }
  }

  txt(name: string): Promise<DnsAnswer<string>> {
    return this.query('TXT', name, async (n) =>
      (await this.resolver.resolveTxt(n)).map((chunks) => chunks.join('')),
    );
  }

  a(name: string): Promise<DnsAnswer<string>> {
    return this.query('A', name, (n) => this.resolver.resolve4(n));
  }

  aaaa(name: string): Promise<DnsAnswer<string>> {
    return this.query('AAAA', name, (n) => this.resolver.resolve6(n));
  }

  mx(name: string): Promise<DnsAnswer<MxAnswer>> {
    return this.query('MX', name, (n) => this.resolver.resolveMx(n));
  }

  private query<T>(type: string, name: string, run: (name: string) => Promise<T[]>): Promise<DnsAnswer<T>> {
    const key = `${type} ${name.toLowerCase()}`;
    let answer = this.cache.get(key) as Promise<DnsAnswer<T>> | undefined;
    if (answer === undefined) {
      answer = run(name).then(toAnswer, fromError<T>);
      this.cache.set(key, answer);
    }
    return answer;
  }
}

function toAnswer<T>(records: T[]): DnsAnswer<T> {
  return records.length === 0 ? { status: 'none', code: 'NODATA' } : { status: 'found', records };
}

function fromError<T>(error: unknown): DnsAnswer<T> {
  const code = (error as { code?: unknown }).code;
  if (code === 'ENOTFOUND') {
    return { status: 'none', code: 'NXDOMAIN' };
  }
  if (code === 'ENODATA') {
    return { status: 'none', code: 'NODATA' };
  }
  return { status: 'temperror', code: typeof code === 'string' ? code : 'EUNKNOWN' };
}
