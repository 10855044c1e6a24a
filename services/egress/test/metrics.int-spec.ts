import { freePort, generateSelfSignedCert, metricDeltas, startDnsServer, startSmtpSink } from '@ser/testing';
import type { MetricSeries, SmtpSink, TestDnsServer } from '@ser/testing';
import { startEgressFixture } from './egress-fixture';
import type { EgressFixture } from './egress-fixture';

type Series = Record<string, MetricSeries>;

const attempts = (replyClass: string, tls: 'yes' | 'no'): MetricSeries => [
  'ser_delivery_attempts_total',
  { reply_class: replyClass, tls },
];

const ALL_ATTEMPTS: Series = {
  ok: attempts('2xx', 'yes'),
  okPlain: attempts('2xx', 'no'),
  deferred: attempts('4xx', 'yes'),
  refused: attempts('5xx', 'yes'),
  connectionPlain: attempts('connection', 'no'),
};

/** The egress service against a DNS server and SMTP sinks on loopback (one with STARTTLS, one without). */
describe('egress metrics', () => {
  let dns: TestDnsServer;
  let tlsSink: SmtpSink;
  let plainSink: SmtpSink;
  let egress: EgressFixture;

  beforeAll(async () => {
    dns = await startDnsServer();
    const port = await freePort();
    const tls = generateSelfSignedCert({ commonName: 'mx.tls.test', altNames: ['DNS:mx.tls.test'] });
    tlsSink = await startSmtpSink({ host: '127.0.0.1', port, tls });
    plainSink = await startSmtpSink({ host: '127.0.0.11', port });
    dns.set('tls.test', 'MX', [{ preference: 10, exchange: 'mx.tls.test' }]);
    dns.set('mx.tls.test', 'A', ['127.0.0.1']);
    dns.set('plain.test', 'MX', [{ preference: 10, exchange: 'mx.plain.test' }]);
    dns.set('mx.plain.test', 'A', ['127.0.0.11']);
    // The preferred MX has nothing listening: a connection attempt without a reply, then the next MX.
    dns.set('dead.test', 'MX', [
      { preference: 10, exchange: 'mx1.dead.test' },
      { preference: 20, exchange: 'mx2.dead.test' },
    ]);
    dns.set('mx1.dead.test', 'A', ['127.0.0.20']);
    dns.set('mx2.dead.test', 'A', ['127.0.0.11']);
    egress = await startEgressFixture({
      SER_DNS_SERVERS: dns.address,
      SER_EGRESS_PORT: String(port),
      SER_EGRESS_RETRY_SCHEDULE: '1s',
      SER_EGRESS_RETRY_JITTER: '0',
      SER_EGRESS_ALLOW_PRIVATE_MX: 'true',
      SER_EGRESS_CONNECT_TIMEOUT_MS: '2000',
      SER_EGRESS_MTA_STS_ENABLED: 'false',
    });
  });

  afterAll(async () => {
    await egress?.stop();
    await Promise.all([tlsSink?.close(), plainSink?.close(), dns?.close()]);
  });

  afterEach(() => {
    tlsSink.setReply(undefined);
  });

  async function deliver(domain: string, rcpt: string): Promise<string> {
    const id = await egress.signedMessage([rcpt]);
    await egress.deliver(id, domain);
    return egress.finalState(id);
  }

  it('counts a delivery over STARTTLS as a 2xx attempt with TLS', async () => {
    const grown = await metricDeltas(ALL_ATTEMPTS, async () => {
      expect(await deliver('tls.test', 'a@tls.test')).toBe('delivered');
    });
    expect(grown).toEqual({ ok: 1, okPlain: 0, deferred: 0, refused: 0, connectionPlain: 0 });
  });

  it('counts a delivery in plain text as a 2xx attempt without TLS', async () => {
    const grown = await metricDeltas(ALL_ATTEMPTS, async () => {
      expect(await deliver('plain.test', 'a@plain.test')).toBe('delivered');
    });
    expect(grown).toEqual({ ok: 0, okPlain: 1, deferred: 0, refused: 0, connectionPlain: 0 });
  });

  it('counts a 451 as a 4xx attempt, and the retry that delivers as 2xx', async () => {
    let refused = 0;
    tlsSink.setReply(() => (refused++ === 0 ? { code: 451, message: '4.3.0 Try again later' } : undefined));
    const grown = await metricDeltas(ALL_ATTEMPTS, async () => {
      expect(await deliver('tls.test', 'busy@tls.test')).toBe('delivered');
    });
    expect(grown).toEqual({ ok: 1, okPlain: 0, deferred: 1, refused: 0, connectionPlain: 0 });
  });

  it('counts a 550 as a 5xx attempt', async () => {
    tlsSink.setReply(() => ({ code: 550, message: '5.1.1 no such user' }));
    const grown = await metricDeltas(ALL_ATTEMPTS, async () => {
      expect(await deliver('tls.test', 'gone@tls.test')).toBe('bounced');
    });
    expect(grown).toEqual({ ok: 0, okPlain: 0, deferred: 0, refused: 1, connectionPlain: 0 });
  });

  it('counts an MX that does not answer as a connection attempt', async () => {
    const grown = await metricDeltas(ALL_ATTEMPTS, async () => {
      expect(await deliver('dead.test', 'a@dead.test')).toBe('delivered');
    });
    expect(grown).toEqual({ ok: 0, okPlain: 1, deferred: 0, refused: 0, connectionPlain: 1 });
  });

  it('counts the lookups of a repeated delivery to one domain as DNS cache hits', async () => {
    dns.set('cached.test', 'MX', [{ preference: 10, exchange: 'mx.cached.test' }]);
    dns.set('mx.cached.test', 'A', ['127.0.0.11']);
    const lookups: Series = {
      hit: ['ser_dns_cache_lookups_total', { result: 'hit' }],
      miss: ['ser_dns_cache_lookups_total', { result: 'miss' }],
    };
    const first = await metricDeltas(lookups, async () => {
      expect(await deliver('cached.test', 'a@cached.test')).toBe('delivered');
    });
    const second = await metricDeltas(lookups, async () => {
      expect(await deliver('cached.test', 'b@cached.test')).toBe('delivered');
    });
    expect(first.miss).toBeGreaterThan(0);
    // Every question of the first delivery (MX, then the exchange's addresses) is asked again.
    expect(second).toEqual({ hit: first.miss, miss: 0 });
  });
});
