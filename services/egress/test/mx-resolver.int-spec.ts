import { loadConfig } from '@ser/config';
import { startDnsServer } from '@ser/testing';
import type { TestDnsServer } from '@ser/testing';
import { DnsClient, DnsTemporaryError } from '../src/dns/dns-client';
import type { MxLookup } from '../src/dns/mx-resolver';
import { MxResolver } from '../src/dns/mx-resolver';

describe('MxResolver against a real DNS server', () => {
  let dns: TestDnsServer;

  beforeAll(async () => {
    dns = await startDnsServer();
  });

  afterAll(async () => {
    await dns?.close();
  });

  function resolver(allowPrivate = false): MxResolver {
    const config = loadConfig({
      SER_DNS_SERVERS: dns.address,
      SER_DNS_TIMEOUT_MS: '2000',
      SER_EGRESS_ALLOW_PRIVATE_MX: String(allowPrivate),
    });
    return new MxResolver(new DnsClient(config), config);
  }

  function hostsOf(lookup: MxLookup): { name: string; preference: number; addresses: string[] }[] {
    if (lookup.kind !== 'hosts') {
      throw new Error(`expected hosts, got ${lookup.status} ${lookup.reason}`);
    }
    return lookup.hosts;
  }

  it('lists MX hosts by preference with IPv4 before IPv6', async () => {
    dns.set('order.test', 'MX', [
      { preference: 30, exchange: 'backup.order.test' },
      { preference: 10, exchange: 'primary.order.test' },
    ]);
    dns.set('primary.order.test', 'AAAA', ['2606:2800:220:1::1']);
    dns.set('primary.order.test', 'A', ['93.184.216.34']);
    dns.set('backup.order.test', 'A', ['93.184.216.35']);

    expect(await resolver().lookup('order.test')).toEqual({
      kind: 'hosts',
      implicit: false,
      hosts: [
        { name: 'primary.order.test', preference: 10, addresses: ['93.184.216.34', '2606:2800:220:1::1'] },
        { name: 'backup.order.test', preference: 30, addresses: ['93.184.216.35'] },
      ],
    });
  });

  it('shuffles hosts of equal preference', async () => {
    dns.set('shuffle.test', 'MX', [
      { preference: 10, exchange: 'a.shuffle.test' },
      { preference: 10, exchange: 'b.shuffle.test' },
    ]);
    dns.set('a.shuffle.test', 'A', ['93.184.216.34']);
    dns.set('b.shuffle.test', 'A', ['93.184.216.35']);
    const mx = resolver();
    const firsts = new Set<string>();
    for (let i = 0; i < 40 && firsts.size < 2; i++) {
      firsts.add(hostsOf(await mx.lookup('shuffle.test'))[0]?.name ?? '');
    }
    expect(firsts).toEqual(new Set(['a.shuffle.test', 'b.shuffle.test']));
  });

  it('refuses a domain that does not exist with 5.1.2', async () => {
    expect(await resolver().lookup('no-such-domain.test')).toEqual({
      kind: 'permanent',
      status: '5.1.2',
      reason: 'domain no-such-domain.test does not exist',
    });
  });

  it('refuses a null MX domain with 5.1.10', async () => {
    dns.set('nullmx.test', 'MX', [{ preference: 0, exchange: '.' }]);
    dns.set('nullmx.test', 'A', ['93.184.216.34']);
    expect(await resolver().lookup('nullmx.test')).toMatchObject({ kind: 'permanent', status: '5.1.10' });
  });

  it('falls back to the domain itself without MX records', async () => {
    dns.set('implicit.test', 'A', ['93.184.216.34']);
    dns.set('implicit.test', 'AAAA', ['2606:2800:220:1::1']);
    expect(await resolver().lookup('implicit.test')).toEqual({
      kind: 'hosts',
      implicit: true,
      hosts: [{ name: 'implicit.test', preference: 0, addresses: ['93.184.216.34', '2606:2800:220:1::1'] }],
    });
  });

  it('refuses a domain with neither MX nor address records with 5.1.2', async () => {
    dns.set('bare.test', 'TXT', ['v=spf1 -all']);
    expect(await resolver().lookup('bare.test')).toMatchObject({ kind: 'permanent', status: '5.1.2' });
  });

  it('ignores an MX exchange that is an IP address', async () => {
    dns.set('literal-mx.test', 'MX', [
      { preference: 5, exchange: '93.184.216.99' },
      { preference: 10, exchange: 'mx.literal-mx.test' },
    ]);
    dns.set('mx.literal-mx.test', 'A', ['93.184.216.34']);
    expect(hostsOf(await resolver().lookup('literal-mx.test')).map((h) => h.name)).toEqual([
      'mx.literal-mx.test',
    ]);
  });

  describe('private addresses', () => {
    beforeAll(() => {
      dns.set('internal.test', 'MX', [{ preference: 10, exchange: 'mx.internal.test' }]);
      dns.set('mx.internal.test', 'A', ['127.0.0.1', '10.1.2.3']);
      dns.set('mx.internal.test', 'AAAA', ['::ffff:169.254.169.254']);
      dns.set('mixed.test', 'MX', [
        { preference: 10, exchange: 'mx.internal.test' },
        { preference: 20, exchange: 'mx.mixed.test' },
      ]);
      dns.set('mx.mixed.test', 'A', ['192.168.0.1', '93.184.216.34']);
    });

    it('refuses an MX resolving only to non-public addresses with 5.4.4', async () => {
      expect(await resolver(false).lookup('internal.test')).toEqual({
        kind: 'permanent',
        status: '5.4.4',
        reason: 'MX of internal.test resolves only to non-public addresses (refused)',
      });
    });

    it('drops non-public addresses next to public ones', async () => {
      expect(hostsOf(await resolver(false).lookup('mixed.test'))).toEqual([
        { name: 'mx.internal.test', preference: 10, addresses: [] },
        { name: 'mx.mixed.test', preference: 20, addresses: ['93.184.216.34'] },
      ]);
    });

    it('keeps them when SER_EGRESS_ALLOW_PRIVATE_MX is true', async () => {
      expect(hostsOf(await resolver(true).lookup('internal.test'))).toEqual([
        {
          name: 'mx.internal.test',
          preference: 10,
          // dns-packet prints IPv4-mapped addresses in hex.
          addresses: ['127.0.0.1', '10.1.2.3', '::ffff:a9fe:a9fe'],
        },
      ]);
    });
  });

  describe('address literals', () => {
    it('refuses them unless private MX are allowed', async () => {
      expect(await resolver(false).lookup('[93.184.216.34]')).toMatchObject({
        kind: 'permanent',
        status: '5.1.2',
      });
    });

    it('delivers to the literal when allowed', async () => {
      expect(await resolver(true).lookup('[IPv6:::1]')).toEqual({
        kind: 'hosts',
        implicit: true,
        hosts: [{ name: '::1', preference: 0, addresses: ['::1'] }],
      });
      expect(await resolver(true).lookup('[127.0.0.256]')).toMatchObject({ status: '5.1.2' });
    });
  });

  it('looks up internationalized domains by their A-label', async () => {
    dns.set('xn--bcher-kva.test', 'MX', [{ preference: 10, exchange: 'mx.xn--bcher-kva.test' }]);
    dns.set('mx.xn--bcher-kva.test', 'A', ['93.184.216.34']);
    expect(hostsOf(await resolver().lookup('Bücher.test'))).toEqual([
      { name: 'mx.xn--bcher-kva.test', preference: 10, addresses: ['93.184.216.34'] },
    ]);
    expect(dns.queries.some((q) => q.name === 'xn--bcher-kva.test' && q.type === 'MX')).toBe(true);
  });

  it('refuses a syntactically invalid domain with 5.1.2 without asking DNS', async () => {
    const before = dns.queries.length;
    expect(await resolver().lookup('bad domain.test')).toMatchObject({ kind: 'permanent', status: '5.1.2' });
    expect(dns.queries.length).toBe(before);
  });

  describe('temporary failures', () => {
    beforeAll(() => {
      // The test server answers SERVFAIL for a CNAME loop.
      dns.set('loop1.test', 'CNAME', ['loop2.test']);
      dns.set('loop2.test', 'CNAME', ['loop1.test']);
    });

    it('throws DnsTemporaryError when the MX query fails', async () => {
      await expect(resolver().lookup('loop1.test')).rejects.toBeInstanceOf(DnsTemporaryError);
    });

    it('leaves a host that failed temporarily without addresses', async () => {
      dns.set('partial.test', 'MX', [
        { preference: 10, exchange: 'loop1.test' },
        { preference: 20, exchange: 'mx.partial.test' },
      ]);
      dns.set('mx.partial.test', 'A', ['93.184.216.34']);
      expect(hostsOf(await resolver().lookup('partial.test'))).toEqual([
        { name: 'loop1.test', preference: 10, addresses: [] },
        { name: 'mx.partial.test', preference: 20, addresses: ['93.184.216.34'] },
      ]);
    });

    it('throws DnsTemporaryError when no host resolved and one failed temporarily', async () => {
      dns.set('allfail.test', 'MX', [
        { preference: 10, exchange: 'loop1.test' },
        { preference: 20, exchange: 'gone.allfail.test' },
      ]);
      await expect(resolver().lookup('allfail.test')).rejects.toBeInstanceOf(DnsTemporaryError);
    });
  });
});
