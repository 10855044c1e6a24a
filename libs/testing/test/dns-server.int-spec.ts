import { generateKeyPairSync } from 'node:crypto';
import { createSocket } from 'node:dgram';
import type { promises as dns } from 'node:dns';
import { connect } from 'node:net';
import * as dnsPacket from 'dns-packet';
import { dkimSign, dkimVerify } from 'mailauth';
import { createTestResolver, freePort, startDnsServer, type TestDnsServer } from '../src';

/** A fresh 2048-bit RSA key and its DKIM key record (~410 characters, RFC 6376 §3.6.1). */
function dkimKey(): { privateKey: string; record: string } {
  const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
  const p = publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  return {
    privateKey: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    record: `v=DKIM1; k=rsa; p=${p}`,
  };
}

/** One raw query without EDNS, so the classic 512-octet UDP limit applies. */
function rawUdpQuery(
  server: TestDnsServer,
  name: string,
  type: dnsPacket.RecordType,
): Promise<dnsPacket.DecodedPacket> {
  const socket = createSocket('udp4');
  const query = dnsPacket.encode({
    id: 7,
    type: 'query',
    flags: dnsPacket.RECURSION_DESIRED,
    questions: [{ name, type }],
  });
  return new Promise((resolve, reject) => {
    socket.once('error', reject);
    socket.once('message', (message) => {
      socket.close();
      resolve(dnsPacket.decode(message));
    });
    socket.send(query, server.port, '127.0.0.1');
  });
}

function rawTcpQuery(
  server: TestDnsServer,
  name: string,
  type: dnsPacket.RecordType,
): Promise<dnsPacket.DecodedPacket> {
  const query = dnsPacket.streamEncode({ id: 8, type: 'query', questions: [{ name, type }] });
  return new Promise((resolve, reject) => {
    const socket = connect(server.port, '127.0.0.1', () => socket.write(query));
    let received = Buffer.alloc(0);
    socket.on('error', reject);
    socket.on('data', (chunk) => {
      received = Buffer.concat([received, chunk]);
      if (received.length >= 2 && received.length >= 2 + received.readUInt16BE(0)) {
        socket.end();
        resolve(dnsPacket.streamDecode(received) as dnsPacket.DecodedPacket);
      }
    });
  });
}

describe('startDnsServer', () => {
  let server: TestDnsServer;
  let resolver: dns.Resolver;

  beforeAll(async () => {
    server = await startDnsServer();
    resolver = createTestResolver(server);
  });

  afterAll(() => server.close());

  beforeEach(() => {
    server.clear();
    server.clearQueries();
  });

  it('exposes a host:port address on loopback', () => {
    expect(server.address).toBe(`127.0.0.1:${server.port}`);
    expect(server.port).toBeGreaterThan(0);
  });

  it('resolves MX records, with or without a trailing dot on the exchange', async () => {
    server.set('example.test', 'MX', [
      { preference: 20, exchange: 'mx2.example.test.' },
      { preference: 10, exchange: 'mx1.example.test' },
    ]);
    const records = await resolver.resolveMx('example.test');
    expect(records.sort((a, b) => a.priority - b.priority)).toEqual([
      { priority: 10, exchange: 'mx1.example.test' },
      { priority: 20, exchange: 'mx2.example.test' },
    ]);
  });

  it('serves a null MX (RFC 7505)', async () => {
    server.set('nomail.test', 'MX', [{ preference: 0, exchange: '.' }]);
    await expect(resolver.resolveMx('nomail.test')).resolves.toEqual([{ priority: 0, exchange: '' }]);
  });

  it('resolves A and AAAA case-insensitively and reports the TTL', async () => {
    server.set('Host.Example.test', 'A', ['192.0.2.1', '192.0.2.2']);
    server.set('host.example.test', 'AAAA', ['2001:db8::1'], { ttl: 300 });
    const v4 = await resolver.resolve4('HOST.example.TEST', { ttl: true });
    expect(v4.map((r) => r.address).sort()).toEqual(['192.0.2.1', '192.0.2.2']);
    expect(v4.every((r) => r.ttl === 60)).toBe(true);
    await expect(resolver.resolve6('host.example.test', { ttl: true })).resolves.toEqual([
      { address: '2001:db8::1', ttl: 300 },
    ]);
  });

  it('returns a DKIM-sized TXT record split into 255-byte strings that join back exactly', async () => {
    const { record } = dkimKey();
    expect(record.length).toBeGreaterThan(380);
    server.set('sel1._domainkey.example.test', 'TXT', [record]);
    const [chunks, ...others] = await resolver.resolveTxt('sel1._domainkey.example.test');
    expect(others).toEqual([]);
    expect(chunks?.map((c) => c.length)).toEqual([255, record.length - 255]);
    expect(chunks?.join('')).toBe(record);
  });

  it('serves a DKIM key that mailauth verifies a real signature against', async () => {
    const { privateKey, record } = dkimKey();
    server.set('sel1._domainkey.example.test', 'TXT', [record]);
    const message = 'From: a@example.test\r\nTo: b@example.net\r\nSubject: dkim\r\n\r\nHello\r\n';
    const key = { signingDomain: 'example.test', selector: 'sel1', privateKey };
    // mailauth 4.13 signs only `signatureData` entries; its typings also demand the top-level fields.
    const signed = await dkimSign(message, { ...key, signatureData: [key] });
    expect(signed.signatures).toMatch(/^DKIM-Signature: /);
    // Node types resolve() as a union per rrtype; mailauth asks for TXT here, which is string[][].
    const mailauthResolver = (name: string, rrtype: string): Promise<string[][]> =>
      resolver.resolve(name, rrtype) as Promise<string[][]>;
    const verified = await dkimVerify(signed.signatures + message, { resolver: mailauthResolver });
    expect(verified.results.map((r) => r.status.result)).toEqual(['pass']);
  });

  it('keeps explicit TXT chunks and serves several TXT records', async () => {
    server.set('example.test', 'TXT', [['v=spf1 ', 'ip4:192.0.2.0/24 -all'], 'google-site-verification=x']);
    const records = await resolver.resolveTxt('example.test');
    expect(records).toContainEqual(['v=spf1 ', 'ip4:192.0.2.0/24 -all']);
    expect(records).toContainEqual(['google-site-verification=x']);
    expect(records).toHaveLength(2);
  });

  it('add() appends to an RRset and set() replaces it, visible on the next query', async () => {
    server.set('example.test', 'A', ['192.0.2.1']);
    await expect(resolver.resolve4('example.test')).resolves.toEqual(['192.0.2.1']);
    server.add('example.test', 'A', ['192.0.2.2']);
    expect((await resolver.resolve4('example.test')).sort()).toEqual(['192.0.2.1', '192.0.2.2']);
    server.set('example.test', 'A', ['192.0.2.9']);
    await expect(resolver.resolve4('example.test')).resolves.toEqual(['192.0.2.9']);
  });

  it('answers NXDOMAIN (ENOTFOUND) for unknown names and after clear()', async () => {
    await expect(resolver.resolveTxt('missing.example.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
    server.set('gone.test', 'A', ['192.0.2.1']);
    server.clear();
    await expect(resolver.resolve4('gone.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });

  it('answers NOERROR/empty (ENODATA) for other types and for empty non-terminals', async () => {
    server.set('sel1._domainkey.example.test', 'TXT', ['v=DKIM1; p=']);
    await expect(resolver.resolveMx('sel1._domainkey.example.test')).rejects.toMatchObject({
      code: 'ENODATA',
    });
    await expect(resolver.resolveTxt('_domainkey.example.test')).rejects.toMatchObject({ code: 'ENODATA' });
  });

  it('follows CNAME chains and answers the CNAME itself when asked', async () => {
    server.set('www.example.test', 'CNAME', ['edge.example.test']);
    server.set('edge.example.test', 'CNAME', ['origin.example.net']);
    server.set('origin.example.net', 'A', ['198.51.100.7']);
    await expect(resolver.resolve4('www.example.test')).resolves.toEqual(['198.51.100.7']);
    await expect(resolver.resolveCname('www.example.test')).resolves.toEqual(['edge.example.test']);
    server.set('dangling.example.test', 'CNAME', ['nowhere.example.test']);
    await expect(resolver.resolve4('dangling.example.test')).rejects.toMatchObject({ code: 'ENOTFOUND' });
  });

  it('refuses to mix a CNAME with other data at one name (RFC 1034 §3.6.2)', () => {
    server.set('alias.test', 'CNAME', ['target.test']);
    expect(() => server.set('alias.test', 'TXT', ['x'])).toThrow(/CNAME/);
  });

  it('matches names case-insensitively on the wire and echoes the question case (RFC 4343)', async () => {
    server.set('host.example.test', 'A', ['192.0.2.1']);
    const reply = await rawUdpQuery(server, 'HOST.Example.TEST', 'A');
    expect((reply.flags ?? 0) & 0xf).toBe(0); // RCODE NOERROR
    expect(reply.flag_aa).toBe(true);
    expect(reply.answers).toEqual([
      expect.objectContaining({ name: 'HOST.Example.TEST', data: '192.0.2.1' }),
    ]);
  });

  it('logs queries (lower-cased) for assertions', async () => {
    server.set('example.test', 'MX', [{ preference: 10, exchange: 'mx.example.test' }]);
    await resolver.resolveMx('Example.test');
    expect(server.queries).toEqual([
      expect.objectContaining({ name: 'example.test', type: 'MX', transport: 'udp' }),
    ]);
  });

  it('sets TC on a UDP answer over 512 bytes without EDNS and answers fully over TCP', async () => {
    const record = 'v=spf1 ' + 'include:spf.example.test '.repeat(30) + '-all';
    server.set('big.example.test', 'TXT', [record]);
    const udp = await rawUdpQuery(server, 'big.example.test', 'TXT');
    expect(udp.flag_tc).toBe(true);
    expect(udp.answers).toEqual([]);
    const tcp = await rawTcpQuery(server, 'big.example.test', 'TXT');
    expect(tcp.flag_tc).toBe(false);
    expect(tcp.flag_aa).toBe(true);
    const answer = tcp.answers?.[0];
    expect(answer?.type === 'TXT' && Buffer.concat(answer.data as Buffer[]).toString()).toBe(record);
  });

  it("lets Node's resolver retry a truncated answer over TCP", async () => {
    const records = [1, 2, 3].map((n) => `record-${n}-` + 'x'.repeat(600));
    server.set('huge.example.test', 'TXT', records);
    const answers = await resolver.resolveTxt('huge.example.test');
    expect(answers.map((chunks) => chunks.join('')).sort()).toEqual(records);
    expect(server.queries.map((q) => q.transport)).toContain('tcp');
  });
});

describe('startDnsServer options', () => {
  it('binds a given port and applies the default TTL and UDP limit', async () => {
    const port = await freePort();
    const server = await startDnsServer({ port, ttl: 5, maxUdpPayload: 512 });
    try {
      expect(server.address).toBe(`127.0.0.1:${port}`);
      const record = 'y'.repeat(600);
      server.set('example.test', 'TXT', [record]);
      const resolver = createTestResolver(server);
      const [answer] = await resolver.resolveTxt('example.test');
      expect(answer?.join('')).toBe(record);
      expect(server.queries.map((q) => q.transport)).toEqual(['udp', 'tcp']);
      server.set('example.test', 'A', ['192.0.2.3']);
      await expect(resolver.resolve4('example.test', { ttl: true })).resolves.toEqual([
        { address: '192.0.2.3', ttl: 5 },
      ]);
    } finally {
      await server.close();
    }
  });
});
