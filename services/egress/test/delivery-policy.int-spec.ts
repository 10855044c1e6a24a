import { freePort, generateSelfSignedCert, startDnsServer, startSmtpSink } from '@ser/testing';
import type { SmtpSink, TestDnsServer } from '@ser/testing';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:https';
import type { Server } from 'node:https';
import { createServer as createTcpServer } from 'node:net';
import type { AddressInfo, Server as TcpServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startEgressFixture } from './egress-fixture';
import type { EgressFixture } from './egress-fixture';

const policy = (mode: string, mx: string): string =>
  `version: STSv1\r\nmode: ${mode}\r\nmx: ${mx}\r\nmax_age: 86400\r\n`;

/**
 * TLS policy, MTA-STS, queue lifetime and the refusal of private MX addresses, against sinks on
 * loopback (one port, an address each) and an HTTPS policy server; the retry schedule is 1 s and
 * the queue lifetime 4 s, so refused mail expires within the test.
 */
describe('egress TLS policy, MTA-STS, expiry and private addresses', () => {
  let dns: TestDnsServer;
  let dir: string;
  let https: Server;
  let silent: TcpServer;
  const silentSockets = new Set<Socket>();
  let plain: SmtpSink;
  let untrusted: SmtpSink;
  let trusted: SmtpSink;
  let egress: EgressFixture;
  let guarded: EgressFixture;
  const policies = new Map<string, string>();

  beforeAll(async () => {
    dns = await startDnsServer();
    dir = mkdtempSync(join(tmpdir(), 'ser-egress-policy-'));
    // One trusted certificate (the CA file names it) for the policy hosts and one MX; another, untrusted.
    const ca = generateSelfSignedCert({
      commonName: 'mx.sts.test',
      altNames: [
        'DNS:mx.sts.test',
        'DNS:mta-sts.sts.test',
        'DNS:mta-sts.stsbad.test',
        'DNS:mta-sts.ststesting.test',
        'DNS:mta-sts.stsuntrusted.test',
      ],
    });
    const other = generateSelfSignedCert({ commonName: 'mx.other.test', altNames: ['DNS:mx.other.test'] });
    writeFileSync(join(dir, 'ca.pem'), ca.cert);

    https = createServer({ key: ca.key, cert: ca.cert }, (req, res) => {
      const body = policies.get((req.headers.host ?? '').replace(/:\d+$/, ''));
      res.writeHead(body === undefined ? 404 : 200, { 'content-type': 'text/plain' }).end(body ?? '');
    });
    https.listen(0, '127.0.0.1');
    await once(https, 'listening');
    const httpsPort = (https.address() as AddressInfo).port;

    const port = await freePort();
    plain = await startSmtpSink({ host: '127.0.0.31', port });
    // Accepts connections and never greets.
    silent = createTcpServer((socket) => {
      silentSockets.add(socket);
      socket.on('close', () => silentSockets.delete(socket));
    });
    silent.listen(port, '127.0.0.34');
    await once(silent, 'listening');
    untrusted = await startSmtpSink({ host: '127.0.0.32', port, tls: other, hostname: 'mx.other.test' });
    trusted = await startSmtpSink({ host: '127.0.0.33', port, tls: ca, hostname: 'mx.sts.test' });

    const mx = (domain: string, exchange: string, address: string): void => {
      dns.set(domain, 'MX', [{ preference: 10, exchange }]);
      dns.set(exchange, 'A', [address]);
    };
    mx('notls.test', 'mx.notls.test', '127.0.0.31');
    mx('verified.test', 'mx.verified.test', '127.0.0.32');
    mx('sts.test', 'mx.sts.test', '127.0.0.33');
    mx('stsbad.test', 'mx.stsbad.test', '127.0.0.33');
    mx('ststesting.test', 'mx.ststesting.test', '127.0.0.32');
    mx('stsuntrusted.test', 'mx.stsuntrusted.test', '127.0.0.32');
    mx('private.test', 'mx.private.test', '127.0.0.33');
    dns.set('mute.test', 'MX', [
      { preference: 10, exchange: 'mx1.mute.test' },
      { preference: 20, exchange: 'mx2.mute.test' },
    ]);
    dns.set('mx1.mute.test', 'A', ['127.0.0.34']);
    dns.set('mx2.mute.test', 'A', ['127.0.0.31']);
    for (const [domain, body] of [
      ['sts.test', policy('enforce', 'mx.sts.test')],
      ['stsbad.test', policy('enforce', 'mx.elsewhere.test')],
      ['ststesting.test', policy('testing', 'mx.elsewhere.test')],
      ['stsuntrusted.test', policy('enforce', 'mx.stsuntrusted.test')],
    ] as const) {
      dns.set(`_mta-sts.${domain}`, 'TXT', ['v=STSv1; id=20261129;']);
      dns.set(`mta-sts.${domain}`, 'A', ['127.0.0.1']);
      policies.set(`mta-sts.${domain}`, body);
    }

    const common = {
      SER_DNS_SERVERS: dns.address,
      SER_EGRESS_PORT: String(port),
      SER_EGRESS_RETRY_SCHEDULE: '1s',
      SER_EGRESS_RETRY_JITTER: '0',
      SER_EGRESS_MAX_AGE: '4s',
      SER_EGRESS_CONNECT_TIMEOUT_MS: '2000',
      SER_EGRESS_GREETING_TIMEOUT_MS: '1000',
      SER_EGRESS_CA_FILE: join(dir, 'ca.pem'),
      SER_EGRESS_MTA_STS_PORT: String(httpsPort),
      SER_EGRESS_TLS_POLICIES: 'notls.test:require,verified.test:verify',
    };
    egress = await startEgressFixture({ ...common, SER_EGRESS_ALLOW_PRIVATE_MX: 'true' });
    guarded = await startEgressFixture({ ...common, SER_EGRESS_ALLOW_PRIVATE_MX: 'false' });
  });

  afterAll(async () => {
    await egress?.stop();
    await guarded?.stop();
    await Promise.all([plain?.close(), untrusted?.close(), trusted?.close(), dns?.close()]);
    await new Promise((resolve) => https?.close(resolve));
    silentSockets.forEach((socket) => socket.destroy());
    await new Promise((resolve) => silent?.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  it('never sends in plain text where TLS is required, and expires the message after its lifetime', async () => {
    const started = Date.now();
    const id = await egress.signedMessage(['a@notls.test'], { subject: 'require tls' });
    await egress.deliver(id, 'notls.test');

    expect(await egress.finalState(id)).toBe('expired');
    expect(Date.now() - started).toBeGreaterThanOrEqual(3500);
    expect(plain.messages).toEqual([]);
    const deferred = await egress.events(id, 'delivery.deferred');
    expect(deferred.length).toBeGreaterThanOrEqual(2);
    expect(deferred[0]?.data['reply']).toMatch(/^451 4\.7\.5 .*STARTTLS/i);
    const [expired] = await egress.events(id, 'delivery.expired');
    expect(expired).toMatchObject({
      recipient: 'a@notls.test',
      data: { reply: expect.stringMatching(/^451 /) as unknown },
    });
    const [recipient] = await egress.messages.recipientsFor(id);
    expect(recipient?.state).toBe('expired');
    expect(recipient?.attempts).toBe(deferred.length + 1);
  });

  it('expires a message found long past its lifetime without another attempt', async () => {
    const id = await egress.signedMessage(['late@notls.test'], {
      subject: 'long overdue',
      createdAt: new Date(Date.now() - 5 * 60_000),
    });
    await egress.deliver(id, 'notls.test');

    expect(await egress.finalState(id)).toBe('expired');
    expect(await egress.events(id, 'delivery.attempted')).toEqual([]);
    const [expired] = await egress.events(id, 'delivery.expired');
    expect(expired).toMatchObject({
      recipient: 'late@notls.test',
      data: { reply: '451 4.4.7 queue lifetime ended' },
    });
  });

  it('gives up on an MX that never greets after the greeting timeout, and uses the next one', async () => {
    const id = await egress.signedMessage(['a@mute.test'], { subject: 'no greeting' });
    await egress.deliver(id, 'mute.test');

    expect(await egress.finalState(id)).toBe('delivered');
    expect(plain.messages.filter((m) => m.raw.includes('Subject: no greeting'))).toHaveLength(1);
    const [first, second] = await egress.events(id, 'delivery.attempted');
    expect(first?.data).toMatchObject({ host: 'mx1.mute.test', ip: '127.0.0.34' });
    expect((first?.data['replies'] as { code: number; text: string }[])[0]).toMatchObject({
      code: 451,
      text: expect.stringMatching(/^4\.4\.2 ETIMEDOUT .*greeting/i) as unknown,
    });
    expect(first?.data['durationMs']).toBeGreaterThanOrEqual(900);
    expect(second?.data).toMatchObject({ host: 'mx2.mute.test', ip: '127.0.0.31' });
  });

  it('refuses a certificate that does not verify under the verify policy', async () => {
    const id = await egress.signedMessage(['a@verified.test'], { subject: 'verify' });
    await egress.deliver(id, 'verified.test');

    expect(await egress.finalState(id)).toBe('expired');
    expect(untrusted.messages.filter((m) => m.raw.includes('Subject: verify'))).toEqual([]);
    const [attempt] = await egress.events(id, 'delivery.attempted');
    expect(attempt?.data).toMatchObject({ tlsPolicy: 'verify', host: 'mx.verified.test' });
    expect((attempt?.data['replies'] as { text: string }[])[0]?.text).toMatch(/^4\.7\.5 /);
  });

  it('delivers under an MTA-STS enforce policy over verified TLS to a listed MX', async () => {
    const id = await egress.signedMessage(['a@sts.test'], { subject: 'sts ok' });
    await egress.deliver(id, 'sts.test');

    expect(await egress.finalState(id)).toBe('delivered');
    expect(trusted.messages.filter((m) => m.raw.includes('Subject: sts ok'))).toHaveLength(1);
    const [attempt] = await egress.events(id, 'delivery.attempted');
    expect(attempt?.data).toMatchObject({
      tlsPolicy: 'verify',
      tls: { authorized: true },
      mtaSts: { mode: 'enforce', mxMatched: true, tlsAuthorized: true },
    });
  });

  it('refuses to deliver under an MTA-STS enforce policy that names none of the MX hosts', async () => {
    const id = await egress.signedMessage(['a@stsbad.test'], { subject: 'sts mismatch' });
    await egress.deliver(id, 'stsbad.test');

    expect(await egress.finalState(id)).toBe('expired');
    expect(trusted.messages.filter((m) => m.raw.includes('Subject: sts mismatch'))).toEqual([]);
    expect((await egress.messages.recipientsFor(id))[0]?.lastReply).toMatch(
      /^451 4\.7\.5 MTA-STS policy of stsbad\.test/,
    );
    expect(await egress.events(id, 'delivery.attempted')).toEqual([]);
  });

  it('refuses to deliver under an MTA-STS enforce policy when the listed MX has no valid certificate', async () => {
    const id = await egress.signedMessage(['a@stsuntrusted.test'], { subject: 'sts untrusted' });
    await egress.deliver(id, 'stsuntrusted.test');

    expect(await egress.finalState(id)).toBe('expired');
    expect(untrusted.messages.filter((m) => m.raw.includes('Subject: sts untrusted'))).toEqual([]);
    const [attempt] = await egress.events(id, 'delivery.attempted');
    expect(attempt?.data).toMatchObject({ host: 'mx.stsuntrusted.test', tlsPolicy: 'verify' });
    expect((attempt?.data['replies'] as { text: string }[])[0]?.text).toMatch(/^4\.7\.5 /);
  });

  it('delivers under an MTA-STS testing policy and records what enforce would have refused', async () => {
    const id = await egress.signedMessage(['a@ststesting.test'], { subject: 'sts testing' });
    await egress.deliver(id, 'ststesting.test');

    expect(await egress.finalState(id)).toBe('delivered');
    const [attempt] = await egress.events(id, 'delivery.attempted');
    expect(attempt?.data).toMatchObject({
      tlsPolicy: 'opportunistic',
      mtaSts: { mode: 'testing', mxMatched: false, tlsAuthorized: false },
    });
  });

  it('refuses MX hosts on private addresses and IP-literal domains unless allowed', async () => {
    const connectionsBefore = trusted.connections.total;
    const viaMx = await guarded.signedMessage(['a@private.test'], { subject: 'ssrf mx' });
    const literal = await guarded.signedMessage(['a@[127.0.0.33]'], { subject: 'ssrf literal' });
    await guarded.deliver(viaMx, 'private.test');
    await guarded.deliver(literal, '[127.0.0.33]');

    expect(await guarded.finalState(viaMx)).toBe('bounced');
    expect(await guarded.finalState(literal)).toBe('bounced');
    expect((await guarded.messages.recipientsFor(viaMx))[0]?.lastReply).toMatch(/^550 5\.4\.4 .*non-public/);
    expect((await guarded.messages.recipientsFor(literal))[0]?.lastReply).toMatch(/^550 5\.1\.2 /);
    expect(trusted.messages.filter((m) => m.raw.includes('Subject: ssrf'))).toEqual([]);
    // Refused before connecting: the sink behind both never saw a connection.
    expect(trusted.connections.total).toBe(connectionsBefore);
  });
});
