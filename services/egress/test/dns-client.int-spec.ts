import { loadConfig } from '@ser/config';
import { startDnsServer, waitFor } from '@ser/testing';
import type { TestDnsServer } from '@ser/testing';
import * as dnsPacket from 'dns-packet';
import { createSocket } from 'node:dgram';
import type { Socket } from 'node:dgram';
import { DnsClient, DnsNotFoundError, DnsTemporaryError } from '../src/dns/dns-client';

function clientFor(servers: string, overrides: Record<string, string> = {}): DnsClient {
  return new DnsClient(loadConfig({ SER_DNS_SERVERS: servers, SER_DNS_TIMEOUT_MS: '2000', ...overrides }));
}

/** A UDP endpoint that records what it receives; `reply` decides what, if anything, to send back. */
async function udpEndpoint(
  reply: (query: dnsPacket.DecodedPacket) => Buffer[] = () => [],
): Promise<{ address: string; received: dnsPacket.DecodedPacket[]; socket: Socket }> {
  const socket = createSocket('udp4');
  const received: dnsPacket.DecodedPacket[] = [];
  socket.on('message', (message, remote) => {
    const query = dnsPacket.decode(message);
    received.push(query);
    for (const datagram of reply(query)) {
      socket.send(datagram, remote.port, remote.address);
    }
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  return { address: `127.0.0.1:${socket.address().port}`, received, socket };
}

describe('DnsClient against a real DNS server', () => {
  let dns: TestDnsServer;

  beforeAll(async () => {
    dns = await startDnsServer();
  });

  afterAll(async () => {
    await dns?.close();
  });

  const queriesFor = (name: string, type: string): number =>
    dns.queries.filter((q) => q.name === name && q.type === type).length;

  it('reads MX, A, AAAA and TXT records', async () => {
    dns.set('records.test', 'MX', [
      { preference: 10, exchange: 'MX1.Records.Test.' },
      { preference: 20, exchange: 'mx2.records.test' },
    ]);
    dns.set('records.test', 'A', ['93.184.216.34', '93.184.216.35']);
    dns.set('records.test', 'AAAA', ['2606:2800:220:1::1']);
    const long = 'v=DKIM1; p=' + 'A'.repeat(400);
    dns.set('records.test', 'TXT', ['v=spf1 -all', long]);
    const client = clientFor(dns.address);

    expect(await client.mx('records.test')).toEqual(
      expect.arrayContaining([
        { exchange: 'mx1.records.test', priority: 10 },
        { exchange: 'mx2.records.test', priority: 20 },
      ]),
    );
    expect((await client.a('RECORDS.test.')).sort()).toEqual(['93.184.216.34', '93.184.216.35']);
    expect(await client.aaaa('records.test')).toEqual(['2606:2800:220:1::1']);
    // The 411-byte record travels as two character-strings and comes back as one string.
    expect((await client.txt('records.test')).sort()).toEqual([long, 'v=spf1 -all'].sort());
  });

  it('returns the null MX as an empty exchange', async () => {
    dns.set('nullmx.test', 'MX', [{ preference: 0, exchange: '.' }]);
    expect(await clientFor(dns.address).mx('nullmx.test')).toEqual([{ exchange: '', priority: 0 }]);
  });

  it('returns [] for NODATA and throws DnsNotFoundError for NXDOMAIN', async () => {
    dns.set('nodata.test', 'A', ['93.184.216.34']);
    const client = clientFor(dns.address);
    expect(await client.mx('nodata.test')).toEqual([]);
    expect(await client.aaaa('nodata.test')).toEqual([]);
    await expect(client.a('missing.nodata-none.test')).rejects.toBeInstanceOf(DnsNotFoundError);
  });

  it('follows a CNAME chain in the answer', async () => {
    dns.set('alias.test', 'CNAME', ['middle.test']);
    dns.set('middle.test', 'CNAME', ['target.test']);
    dns.set('target.test', 'A', ['93.184.216.40']);
    expect(await clientFor(dns.address).a('alias.test')).toEqual(['93.184.216.40']);
  });

  it('serves a repeated question from the cache until the TTL expires', async () => {
    dns.set('ttl.test', 'A', ['93.184.216.34'], { ttl: 1 });
    const client = clientFor(dns.address);

    expect(await client.a('ttl.test')).toEqual(['93.184.216.34']);
    dns.set('ttl.test', 'A', ['93.184.216.99'], { ttl: 1 });
    expect(await client.a('TTL.test')).toEqual(['93.184.216.34']);
    expect(queriesFor('ttl.test', 'A')).toBe(1);
    expect(client.stats()).toEqual({ hits: 1, misses: 1 });

    await waitFor(async () => (await client.a('ttl.test'))[0] === '93.184.216.99', { timeoutMs: 3000 });
    expect(queriesFor('ttl.test', 'A')).toBe(2);
  });

  it('caps the TTL at SER_DNS_CACHE_MAX_TTL_S and caches nothing when it is 0', async () => {
    dns.set('cap.test', 'A', ['93.184.216.34'], { ttl: 3600 });
    const capped = clientFor(dns.address, { SER_DNS_CACHE_MAX_TTL_S: '1' });
    await capped.a('cap.test');
    await waitFor(
      async () => {
        await capped.a('cap.test');
        return queriesFor('cap.test', 'A') === 2;
      },
      { timeoutMs: 3000 },
    );

    dns.set('nocache.test', 'A', ['93.184.216.34']);
    const uncached = clientFor(dns.address, { SER_DNS_CACHE_MAX_TTL_S: '0' });
    await uncached.a('nocache.test');
    await uncached.a('nocache.test');
    expect(queriesFor('nocache.test', 'A')).toBe(2);
    expect(uncached.stats()).toEqual({ hits: 0, misses: 2 });
  });

  it('caches NXDOMAIN and NODATA', async () => {
    dns.set('negative.test', 'A', ['93.184.216.34']);
    const client = clientFor(dns.address);

    await expect(client.mx('gone.negative-none.test')).rejects.toBeInstanceOf(DnsNotFoundError);
    dns.set('gone.negative-none.test', 'MX', [{ preference: 10, exchange: 'mx.test' }]);
    await expect(client.mx('gone.negative-none.test')).rejects.toBeInstanceOf(DnsNotFoundError);
    expect(queriesFor('gone.negative-none.test', 'MX')).toBe(1);

    expect(await client.mx('negative.test')).toEqual([]);
    dns.set('negative.test', 'MX', [{ preference: 10, exchange: 'mx.test' }]);
    expect(await client.mx('negative.test')).toEqual([]);
    expect(queriesFor('negative.test', 'MX')).toBe(1);
  });

  it('shares one query between concurrent identical questions', async () => {
    dns.set('concurrent.test', 'A', ['93.184.216.34']);
    const client = clientFor(dns.address);
    const answers = await Promise.all([client.a('concurrent.test'), client.a('Concurrent.test.')]);
    expect(answers).toEqual([['93.184.216.34'], ['93.184.216.34']]);
    expect(queriesFor('concurrent.test', 'A')).toBe(1);
  });

  it('retries a truncated UDP answer over TCP', async () => {
    const small = await startDnsServer({ maxUdpPayload: 512 });
    try {
      const records = Array.from({ length: 8 }, (_, i) => `record-${i}-${'x'.repeat(100)}`);
      small.set('big.test', 'TXT', records);
      expect((await clientFor(small.address).txt('big.test')).sort()).toEqual(records.sort());
      expect(small.queries.map((q) => q.transport)).toEqual(['udp', 'tcp']);
    } finally {
      await small.close();
    }
  });

  it('throws DnsTemporaryError on SERVFAIL and does not cache it', async () => {
    // The test server answers SERVFAIL for a CNAME loop.
    dns.set('loop-a.test', 'CNAME', ['loop-b.test']);
    dns.set('loop-b.test', 'CNAME', ['loop-a.test']);
    const client = clientFor(dns.address);
    await expect(client.a('loop-a.test')).rejects.toBeInstanceOf(DnsTemporaryError);
    const asked = queriesFor('loop-a.test', 'A');
    await expect(client.a('loop-a.test')).rejects.toBeInstanceOf(DnsTemporaryError);
    expect(queriesFor('loop-a.test', 'A')).toBe(asked * 2);
  });

  describe('against a server that never answers', () => {
    let silent: Awaited<ReturnType<typeof udpEndpoint>>;

    beforeAll(async () => {
      silent = await udpEndpoint();
    });

    afterAll(() => {
      silent?.socket.close();
    });

    it('gives up with DnsTemporaryError after one retry', async () => {
      silent.received.length = 0;
      const client = clientFor(silent.address, { SER_DNS_TIMEOUT_MS: '300' });
      const started = Date.now();
      await expect(client.a('slow.test')).rejects.toBeInstanceOf(DnsTemporaryError);
      const elapsed = Date.now() - started;

      expect(elapsed).toBeGreaterThanOrEqual(550);
      expect(elapsed).toBeLessThan(1500);
      expect(silent.received).toHaveLength(2);
      const [query] = silent.received;
      expect(query?.flag_rd).toBe(true);
      expect(query?.questions).toEqual([{ name: 'slow.test', type: 'A', class: 'IN' }]);
      expect(query?.additionals).toEqual([expect.objectContaining({ type: 'OPT', udpPayloadSize: 1232 })]);
    });

    it('moves on to the next server', async () => {
      dns.set('next.test', 'A', ['93.184.216.34']);
      const client = clientFor(`${silent.address},${dns.address}`, { SER_DNS_TIMEOUT_MS: '300' });
      expect(await client.a('next.test')).toEqual(['93.184.216.34']);
    });
  });

  it('ignores answers whose id or question does not match the query', async () => {
    const answer = (id: number, name: string, ip: string): Buffer =>
      dnsPacket.encode({
        type: 'response',
        id,
        flags: dnsPacket.RECURSION_DESIRED | dnsPacket.RECURSION_AVAILABLE,
        questions: [{ name, type: 'A', class: 'IN' }],
        answers: [{ name, type: 'A', ttl: 60, data: ip }],
      });
    const spoofer = await udpEndpoint((query) => {
      const id = query.id ?? 0;
      const name = query.questions?.[0]?.name ?? '';
      return [
        answer((id + 1) % 0x10000, name, '6.6.6.6'),
        answer(id, 'other.test', '6.6.6.7'),
        Buffer.from('garbage'),
        answer(id, name, '93.184.216.34'),
      ];
    });
    try {
      expect(await clientFor(spoofer.address).a('spoofed.test')).toEqual(['93.184.216.34']);
    } finally {
      spoofer.socket.close();
    }
  });
});
