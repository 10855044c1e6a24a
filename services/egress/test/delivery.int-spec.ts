import { smarthostPasswordAad, SuppressionRepository } from '@ser/data';
import { SecretBox } from '@ser/security';
import { freePort, generateSelfSignedCert, startDnsServer, startSmtpSink, waitFor } from '@ser/testing';
import type { SmtpSink, TestDnsServer } from '@ser/testing';
import { simpleParser } from 'mailparser';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SIGNATURE, startEgressFixture, TENANT } from './egress-fixture';
import type { EgressFixture } from './egress-fixture';

/**
 * Egress against a DNS server and SMTP sinks on loopback: every sink listens on the same port
 * (SER_EGRESS_PORT) at its own 127.0.0.x address, as MX hosts do on port 25.
 */
describe('egress delivery', () => {
  let dns: TestDnsServer;
  let port: number;
  const sinks: Record<string, SmtpSink> = {};
  let egress: EgressFixture;
  let caDir: string;

  const sink = (name: string): SmtpSink => {
    const found = sinks[name];
    if (found === undefined) throw new Error(`no sink ${name}`);
    return found;
  };
  const received = (name: string, subject: string) =>
    sink(name).messages.filter((m) => m.raw.toString().includes(`Subject: ${subject}\r\n`));

  beforeAll(async () => {
    dns = await startDnsServer();
    port = await freePort();
    const tls = generateSelfSignedCert({ commonName: 'mx.dest.test', altNames: ['DNS:mx.dest.test'] });
    // The smarthost's certificate is trusted (SER_EGRESS_CA_FILE): AUTH only goes to a verified server.
    const gatewayTls = generateSelfSignedCert({ commonName: '127.0.0.18', altNames: ['IP:127.0.0.18'] });
    caDir = mkdtempSync(join(tmpdir(), 'ser-egress-ca-'));
    writeFileSync(join(caDir, 'ca.pem'), gatewayTls.cert);
    const hosts: Record<string, { host: string; options?: Parameters<typeof startSmtpSink>[0] }> = {
      main: { host: '127.0.0.1', options: { tls } },
      backup: { host: '127.0.0.11' },
      smarthost: { host: '127.0.0.12' },
      plain7bit: { host: '127.0.0.14', options: { hide: ['SMTPUTF8', '8BITMIME'] } },
      sender: { host: '127.0.0.15' },
      bulk: { host: '127.0.0.16' },
      slow: { host: '127.0.0.17' },
      gateway: {
        host: '127.0.0.18',
        options: { tls: gatewayTls, auth: { username: 'relay', password: 'gateway secret' } },
      },
    };
    for (const [name, { host, options }] of Object.entries(hosts)) {
      sinks[name] = await startSmtpSink({ ...options, host, port });
    }
    const mx = (domain: string, exchange: string, address: string): void => {
      dns.set(domain, 'MX', [{ preference: 10, exchange }]);
      dns.set(exchange, 'A', [address]);
    };
    mx('dest.test', 'mx.dest.test', '127.0.0.1');
    mx('saas.test', 'mx.saas.test', '127.0.0.15');
    mx('bulk.test', 'mx.bulk.test', '127.0.0.16');
    mx('slow.test', 'mx.slow.test', '127.0.0.17');
    mx('old.test', 'mx.old.test', '127.0.0.14');
    mx('xn--bcher-kva.test', 'mx.old.test', '127.0.0.14');
    mx('routed.test', 'mx.dest.test', '127.0.0.1');
    egress = await startEgressFixture({
      SER_DNS_SERVERS: dns.address,
      SER_EGRESS_PORT: String(port),
      SER_EGRESS_RETRY_SCHEDULE: '1s',
      SER_EGRESS_RETRY_JITTER: '0',
      SER_EGRESS_MAX_AGE: '10m',
      SER_EGRESS_ALLOW_PRIVATE_MX: 'true',
      SER_EGRESS_MAX_CONNECTIONS_PER_MX: '2',
      SER_EGRESS_CONNECTION_IDLE_MS: '3000',
      SER_EGRESS_CONNECT_TIMEOUT_MS: '2000',
      SER_EGRESS_DATA_TIMEOUT_MS: '1500',
      SER_EGRESS_MTA_STS_ENABLED: 'false',
      SER_EGRESS_CONCURRENCY: '10',
      SER_EGRESS_CA_FILE: join(caDir, 'ca.pem'),
    });
  });

  afterAll(async () => {
    await egress?.stop();
    await Promise.all([...Object.values(sinks).map((s) => s.close()), dns?.close()]);
    rmSync(caDir, { recursive: true, force: true });
  });

  afterEach(() => {
    for (const s of Object.values(sinks)) {
      s.setReply(undefined);
      s.setDelays({});
    }
  });

  it('prepends the signature, keeps the body intact over STARTTLS, and records the attempt', async () => {
    const id = await egress.signedMessage(['a@dest.test'], { subject: 'plain' });
    await egress.deliver(id, 'dest.test');

    expect(await egress.finalState(id)).toBe('delivered');
    const [copy] = received('main', 'plain');
    expect(copy?.raw.toString().startsWith(SIGNATURE)).toBe(true);
    expect(copy?.raw.toString()).toContain('\r\n.leading dot\r\n');
    expect(copy?.envelope).toEqual({ mailFrom: 'bounces@saas.test', rcptTo: ['a@dest.test'] });
    expect(copy?.tls).toBe(true);
    expect(copy?.heloName).toBe('relay.test');
    const [recipient] = await egress.messages.recipientsFor(id);
    expect(recipient).toMatchObject({ state: 'delivered', attempts: 1 });
    const [attempt] = await egress.events(id, 'delivery.attempted');
    expect(attempt?.data).toMatchObject({
      domain: 'dest.test',
      attempt: 1,
      route: 'mx',
      host: 'mx.dest.test',
      ip: '127.0.0.1',
      port,
      tlsPolicy: 'opportunistic',
      // The self-signed certificate is recorded as not verified, and opportunistic TLS goes on.
      tls: {
        version: expect.stringMatching(/^TLSv1\.[23]$/) as unknown,
        cipher: expect.any(String) as unknown,
        authorized: false,
      },
      replies: [{ recipient: 'a@dest.test', code: 250, text: expect.any(String) as unknown }],
      ambiguous: false,
      durationMs: expect.any(Number) as unknown,
    });
    const [succeeded] = await egress.events(id, 'delivery.succeeded');
    expect(succeeded).toMatchObject({ recipient: 'a@dest.test', data: { remoteMta: 'mx.dest.test' } });
  });

  it('delivers a message the no-key policy let go unsigned, with nothing prepended', async () => {
    const id = await egress.signedMessage(['a@dest.test'], {
      subject: 'unsigned',
      signing: { unsigned: { reason: 'dkim_key_missing', domain: 'acme.test' } },
    });
    await egress.deliver(id, 'dest.test');
    expect(await egress.finalState(id)).toBe('delivered');
    expect(received('main', 'unsigned')[0]?.raw.toString()).not.toContain('DKIM-Signature');
  });

  it('sends bare LF and CR as CRLF and dot-stuffs, so a smuggled end of data stays message text', async () => {
    const body =
      'From: billing@acme.test\r\nSubject: smuggle\r\n\r\nline\n.\nMAIL FROM:<x@evil.test>\r\nRCPT TO:<y@evil.test>\r\n.\r\r\nend\r\n';
    const id = await egress.signedMessage(['a@dest.test'], { body });
    await egress.deliver(id, 'dest.test');

    expect(await egress.finalState(id)).toBe('delivered');
    const copies = received('main', 'smuggle');
    expect(copies).toHaveLength(1);
    expect(copies[0]?.raw.toString()).toContain(
      '\r\nline\r\n.\r\nMAIL FROM:<x@evil.test>\r\nRCPT TO:<y@evil.test>\r\n.\r\n\r\nend\r\n',
    );
    expect(sink('main').messages.some((m) => m.envelope.mailFrom === 'x@evil.test')).toBe(false);
  });

  it('falls back to the next MX by preference when the first does not answer', async () => {
    dns.set('twomx.test', 'MX', [
      { preference: 20, exchange: 'mx2.twomx.test' },
      { preference: 10, exchange: 'mx1.twomx.test' },
    ]);
    dns.set('mx1.twomx.test', 'A', ['127.0.0.20']); // nothing listens there
    dns.set('mx2.twomx.test', 'A', ['127.0.0.11']);
    const id = await egress.signedMessage(['a@twomx.test'], { subject: 'fallback' });
    await egress.deliver(id, 'twomx.test');

    expect(await egress.finalState(id)).toBe('delivered');
    expect(received('backup', 'fallback')).toHaveLength(1);
    const attempts = await egress.events(id, 'delivery.attempted');
    expect(attempts.map((e) => [e.data['host'], (e.data['replies'] as { code: number }[])[0]?.code])).toEqual(
      [
        ['mx1.twomx.test', 451],
        ['mx2.twomx.test', 250],
      ],
    );
  });

  it('delivers to the A record of a domain without MX', async () => {
    dns.set('nomx.test', 'A', ['127.0.0.11']);
    const id = await egress.signedMessage(['a@nomx.test'], { subject: 'implicit mx' });
    await egress.deliver(id, 'nomx.test');
    expect(await egress.finalState(id)).toBe('delivered');
    expect(received('backup', 'implicit mx')).toHaveLength(1);
  });

  it('retries a 451 on the schedule and then delivers', async () => {
    let refused = 0;
    sink('main').setReply((rcpt) => {
      if (rcpt === 'busy@dest.test' && refused === 0) {
        refused += 1;
        return { code: 451, message: '4.3.0 Try again later' };
      }
      return undefined;
    });
    const id = await egress.signedMessage(['busy@dest.test'], { subject: 'retry 451' });
    await egress.deliver(id, 'dest.test');

    expect(await egress.finalState(id)).toBe('delivered');
    const [deferred] = await egress.events(id, 'delivery.deferred');
    expect(deferred?.data).toMatchObject({ reply: '451 4.3.0 Try again later', attempt: 1 });
    const succeeded = await egress.events(id, 'delivery.succeeded');
    expect(succeeded).toHaveLength(1);
    expect(succeeded[0]?.data['attempt']).toBe(2);
    // The retry waited for the schedule (1 s), not for BullMQ's default back-off (2 s).
    const [first, second] = await egress.events(id, 'delivery.attempted');
    const gap = Date.parse(second?.at ?? '') - Date.parse(first?.at ?? '');
    expect(gap).toBeGreaterThanOrEqual(900);
    expect(gap).toBeLessThan(1900);
    expect(Date.parse(String(deferred?.data['nextAttemptAt']))).toBeLessThanOrEqual(
      Date.parse(second?.at ?? ''),
    );
    expect(received('main', 'retry 451')).toHaveLength(1);
  });

  it('bounces a 550 with the remote text, suppresses the address, and skips it next time', async () => {
    sink('main').setReply((rcpt) =>
      rcpt === 'gone@dest.test'
        ? { code: 550, message: '5.1.1 <gone@dest.test>: no such user here' }
        : undefined,
    );
    const id = await egress.signedMessage(['gone@dest.test'], { subject: 'bounce' });
    await egress.deliver(id, 'dest.test');

    expect(await egress.finalState(id)).toBe('bounced');
    const [bounced] = await egress.events(id, 'delivery.bounced');
    expect(bounced).toMatchObject({
      recipient: 'gone@dest.test',
      data: { reply: '550 5.1.1 <gone@dest.test>: no such user here', remoteMta: 'mx.dest.test' },
    });
    const suppressions = new SuppressionRepository(egress.mongo.db);
    expect(await suppressions.find(TENANT, 'gone@dest.test')).toMatchObject({
      reason: 'hard_bounce',
      reply: '550 5.1.1 <gone@dest.test>: no such user here',
      messageId: id,
    });

    sink('main').clear();
    const again = await egress.signedMessage(['gone@dest.test', 'ok@dest.test'], { subject: 'suppressed' });
    await egress.deliver(again, 'dest.test');
    expect(await egress.finalState(again)).toBe('partially_delivered');
    expect(received('main', 'suppressed').map((m) => m.envelope.rcptTo)).toEqual([['ok@dest.test']]);
    const [suppressed] = await egress.events(again, 'delivery.suppressed');
    expect(suppressed).toMatchObject({ recipient: 'gone@dest.test', data: { reason: 'hard_bounce' } });
    expect(sink('main').rejections).toEqual([]);
  });

  it('ends mixed replies at one domain correctly: 250 once, 550 bounced, 451 retried alone', async () => {
    let later = 0;
    sink('main').setReply((rcpt) => {
      if (rcpt === 'policy@dest.test') return { code: 550, message: '5.7.1 Refused by policy' };
      if (rcpt === 'later@dest.test' && later++ === 0) return { code: 451, message: '4.2.1 Mailbox busy' };
      return undefined;
    });
    const id = await egress.signedMessage(['now@dest.test', 'policy@dest.test', 'later@dest.test'], {
      subject: 'mixed',
    });
    await egress.deliver(id, 'dest.test');

    expect(await egress.finalState(id)).toBe('partially_delivered');
    expect(received('main', 'mixed').map((m) => m.envelope.rcptTo)).toEqual([
      ['now@dest.test'],
      ['later@dest.test'],
    ]);
    const states = Object.fromEntries(
      (await egress.messages.recipientsFor(id)).map((r) => [r.address, [r.state, r.attempts]]),
    );
    expect(states).toEqual({
      'later@dest.test': ['delivered', 2],
      'now@dest.test': ['delivered', 1],
      'policy@dest.test': ['bounced', 1],
    });
    expect(await egress.events(id, 'delivery.succeeded')).toHaveLength(2);
    // A policy refusal is not a bad address: not suppressed.
    expect(await new SuppressionRepository(egress.mongo.db).find(TENANT, 'policy@dest.test')).toBeNull();
  });

  it('keeps each RCPT refusal when the reply to the final dot fails the others', async () => {
    let dataRefusals = 0;
    sink('main').setReply((rcpt) =>
      rcpt === 'nobody@dest.test' ? { code: 550, message: '5.1.1 no such user' } : undefined,
    );
    sink('main').setDataReply((m) =>
      m.raw.toString().includes('Subject: data refused') && dataRefusals++ === 0
        ? { code: 451, message: '4.3.0 queue full, try later' }
        : undefined,
    );
    try {
      const id = await egress.signedMessage(['nobody@dest.test', 'some@dest.test'], {
        subject: 'data refused',
      });
      await egress.deliver(id, 'dest.test');

      expect(await egress.finalState(id)).toBe('partially_delivered');
      const states = Object.fromEntries(
        (await egress.messages.recipientsFor(id)).map((r) => [r.address, [r.state, r.attempts, r.lastReply]]),
      );
      expect(states).toEqual({
        // Refused at RCPT: bounced with its own reply, not deferred with the DATA reply.
        'nobody@dest.test': ['bounced', 1, '550 5.1.1 no such user'],
        'some@dest.test': ['delivered', 2, expect.stringMatching(/^250 /) as unknown],
      });
      const [deferred] = await egress.events(id, 'delivery.deferred');
      expect(deferred).toMatchObject({
        recipient: 'some@dest.test',
        data: { reply: '451 4.3.0 queue full, try later' },
      });
    } finally {
      sink('main').setDataReply(undefined);
    }
  });

  it('carries out the effects a crashed run recorded but did not get to (its outbox)', async () => {
    // As a worker leaves it when it dies right after recording a hard bounce.
    const id = await egress.signedMessage(['crashed@dest.test'], { subject: 'outbox' });
    const eventId = `${id}.delivery.bounced.crashed@dest.test.1`;
    await egress.messages.recordRecipient(id, 'crashed@dest.test', {
      state: 'bounced',
      reply: '550 5.1.1 unknown',
      outbox: {
        event: {
          id: eventId,
          type: 'delivery.bounced',
          at: new Date().toISOString(),
          data: { reply: '550 5.1.1 unknown', attempt: 1 },
        },
        suppress: { reply: '550 5.1.1 unknown' },
      },
    });
    await egress.messages.transition(id, ['signed'], 'delivering');
    await egress.deliver(id, 'dest.test');

    expect(await egress.finalState(id)).toBe('bounced');
    const [bounced] = await egress.events(id, 'delivery.bounced');
    expect(bounced).toMatchObject({ id: eventId, recipient: 'crashed@dest.test' });
    expect(await new SuppressionRepository(egress.mongo.db).find(TENANT, 'crashed@dest.test')).toMatchObject({
      reason: 'hard_bounce',
      messageId: id,
    });
    expect((await egress.messages.recipientsFor(id))[0]?.outbox).toBeUndefined();
    expect(received('main', 'outbox')).toEqual([]);
  });

  it('bounces the recipients of a null MX domain and of a domain that does not exist', async () => {
    dns.set('nomail.test', 'MX', [{ preference: 0, exchange: '.' }]);
    const nullMx = await egress.signedMessage(['x@nomail.test']);
    const missing = await egress.signedMessage(['x@missing.test']);
    await egress.deliver(nullMx, 'nomail.test');
    await egress.deliver(missing, 'missing.test');

    expect(await egress.finalState(nullMx)).toBe('bounced');
    expect(await egress.finalState(missing)).toBe('bounced');
    expect((await egress.messages.recipientsFor(nullMx))[0]?.lastReply).toMatch(/^550 5\.1\.10 .*null MX/);
    expect((await egress.messages.recipientsFor(missing))[0]?.lastReply).toMatch(/^550 5\.1\.2 /);
    expect(await egress.events(nullMx, 'delivery.attempted')).toEqual([]);
  });

  it('reuses connections and keeps to the per-MX connection cap', async () => {
    sink('bulk').clear();
    sink('bulk').setDelays({ rcptMs: 150 });
    const ids = await Promise.all(
      Array.from({ length: 8 }, (_, i) =>
        egress.signedMessage([`user${i}@bulk.test`], { subject: `bulk ${i}` }),
      ),
    );
    await Promise.all(ids.map((id) => egress.deliver(id, 'bulk.test')));

    for (const id of ids) {
      expect(await egress.finalState(id)).toBe('delivered');
    }
    expect(sink('bulk').messages).toHaveLength(8);
    expect(sink('bulk').connections.maxOpen).toBeLessThanOrEqual(2);
    expect(sink('bulk').connections.total).toBeLessThan(8);
    const attempts = (await Promise.all(ids.map((id) => egress.events(id, 'delivery.attempted')))).flat();
    expect(attempts.filter((e) => e.data['reused'] === true).length).toBeGreaterThanOrEqual(4);
  });

  it('sends through the tenant smarthost route, bound to the tenant source address', async () => {
    await egress.setTenant({
      routes: [{ domains: ['routed.test'], host: '127.0.0.12', port, tls: 'opportunistic' }],
      sourceAddresses: ['127.0.0.2'],
    });
    try {
      const routed = await egress.signedMessage(['a@routed.test'], { subject: 'routed' });
      const direct = await egress.signedMessage(['b@dest.test'], { subject: 'direct' });
      await egress.deliver(routed, 'routed.test');
      await egress.deliver(direct, 'dest.test');

      expect(await egress.finalState(routed)).toBe('delivered');
      expect(await egress.finalState(direct)).toBe('delivered');
      expect(received('smarthost', 'routed')).toHaveLength(1);
      expect(received('main', 'routed')).toHaveLength(0);
      expect(received('smarthost', 'routed')[0]?.remoteAddress).toBe('127.0.0.2');
      expect(received('main', 'direct')[0]?.remoteAddress).toBe('127.0.0.2');
      const [attempt] = await egress.events(routed, 'delivery.attempted');
      expect(attempt?.data).toMatchObject({
        route: 'smarthost',
        host: '127.0.0.12',
        sourceAddress: '127.0.0.2',
      });
    } finally {
      await egress.setTenant({ routes: [], sourceAddresses: [] });
    }
  });

  it('authenticates to a smarthost with the sealed route password, and retries when AUTH is refused', async () => {
    const box = new SecretBox(egress.config.SER_MASTER_KEY ?? '');
    const route = (password: string) => ({
      host: '127.0.0.18',
      port,
      tls: 'require' as const,
      auth: {
        username: 'relay',
        password: box.seal(
          password,
          smarthostPasswordAad(TENANT, { host: '127.0.0.18', port, username: 'relay' }),
        ),
      },
    });
    await egress.setTenant({ routes: [route('gateway secret')] });
    try {
      const id = await egress.signedMessage(['a@customer.test'], { subject: 'via gateway' });
      await egress.deliver(id, 'customer.test');
      expect(await egress.finalState(id)).toBe('delivered');
      expect(received('gateway', 'via gateway')[0]).toMatchObject({ authUser: 'relay', tls: true });
      const [attempt] = await egress.events(id, 'delivery.attempted');
      // The route asked for `require`; with AUTH the certificate must verify as well.
      expect(attempt?.data).toMatchObject({
        route: 'smarthost',
        tlsPolicy: 'verify',
        tls: { authorized: true },
      });

      await egress.setTenant({ routes: [route('wrong secret')] });
      const refused = await egress.signedMessage(['b@customer.test'], { subject: 'bad auth' });
      await egress.deliver(refused, 'customer.test');
      const [deferred] = await waitFor(
        async () => {
          const found = await egress.events(refused, 'delivery.deferred');
          return found.length > 0 ? found : undefined;
        },
        { timeoutMs: 10_000, description: 'deferred after AUTH refusal' },
      );
      expect(deferred?.data['reply']).toMatch(/^454 4\.7\.0 AUTH refused: 535 /);
      expect(received('gateway', 'bad auth')).toEqual([]);
      // Fixed, the next attempt goes through.
      await egress.setTenant({ routes: [route('gateway secret')] });
      expect(await egress.finalState(refused)).toBe('delivered');
    } finally {
      await egress.setTenant({ routes: [] });
    }
  });

  it('never sends UTF-8 or 8-bit content to a receiver that does not advertise it', async () => {
    const utf8Header = await egress.signedMessage(['a@old.test'], {
      body: 'From: billing@acme.test\r\nSubject: Grüße\r\n\r\nplain\r\n',
    });
    const eightBitBody = await egress.signedMessage(['b@old.test'], {
      body: 'From: billing@acme.test\r\nSubject: eight\r\n\r\nsch\u00f6n\r\n',
    });
    const utf8Local = await egress.signedMessage(['jörg@old.test'], { subject: 'utf8 local' });
    const idn = await egress.signedMessage(['c@bücher.test'], {
      body: 'From: billing@acme.test\r\nTo: c@xn--bcher-kva.test\r\nSubject: idn\r\n\r\nplain\r\n',
    });
    await egress.deliver(utf8Header, 'old.test');
    await egress.deliver(eightBitBody, 'old.test');
    await egress.deliver(utf8Local, 'old.test');
    await egress.deliver(idn, 'bücher.test');

    expect(await egress.finalState(utf8Header)).toBe('bounced');
    expect(await egress.finalState(eightBitBody)).toBe('bounced');
    expect(await egress.finalState(utf8Local)).toBe('bounced');
    expect((await egress.messages.recipientsFor(utf8Header))[0]?.lastReply).toMatch(
      /^553 5\.6\.7 .*SMTPUTF8/,
    );
    expect((await egress.messages.recipientsFor(utf8Local))[0]?.lastReply).toMatch(/^553 5\.6\.7 /);
    expect((await egress.messages.recipientsFor(eightBitBody))[0]?.lastReply).toMatch(
      /^554 5\.6\.3 .*8BITMIME/,
    );
    // An internationalised domain with an ASCII local part goes as its A-label: no SMTPUTF8 needed.
    expect(await egress.finalState(idn)).toBe('delivered');
    expect(sink('plain7bit').messages).toHaveLength(1);
    const [attempt] = await egress.events(idn, 'delivery.attempted');
    // The sink (smtp-server) shows the U-label again; the attempt records what went on the wire.
    expect(attempt?.data['replies']).toEqual([
      { recipient: 'c@xn--bcher-kva.test', code: 250, text: expect.any(String) as unknown },
    ]);
  });

  it('retries when the connection is lost after the final dot, and counts the possible duplicate', async () => {
    sink('slow').clear();
    // The reply to the final dot comes after egress's data timeout (1.5 s): the outcome is unknown.
    sink('slow').setDelays({ dataMs: 2500 });
    const id = await egress.signedMessage(['a@slow.test'], { subject: 'ambiguous' });
    await egress.deliver(id, 'slow.test');

    const [deferred] = await waitFor(
      async () => {
        const found = await egress.events(id, 'delivery.deferred');
        return found.length > 0 ? found : undefined;
      },
      { timeoutMs: 10_000, description: 'deferred event' },
    );
    sink('slow').setDelays({});
    expect(deferred?.data).toMatchObject({ ambiguous: true });
    expect(await egress.finalState(id)).toBe('delivered');
    expect((await egress.messages.findById(id))?.possibleDuplicates).toBe(1);
    expect((await egress.messages.recipientsFor(id))[0]).toMatchObject({
      state: 'delivered',
      ambiguousAttempts: 1,
    });
    // The sink did take the first copy: exactly the duplicate the record warns about.
    await waitFor(() => (received('slow', 'ambiguous').length === 2 ? true : undefined), {
      timeoutMs: 5000,
      description: 'two copies at the slow sink',
    });
  });

  it('sends a DSN to the envelope sender when the tenant asks for one', async () => {
    await egress.setTenant({ dsn: true });
    sink('main').setReply((rcpt) =>
      rcpt === 'unknown@dest.test' ? { code: 550, message: '5.1.1 unknown user' } : undefined,
    );
    try {
      const id = await egress.signedMessage(['unknown@dest.test'], { subject: 'dsn wanted' });
      await egress.deliver(id, 'dest.test');
      expect(await egress.finalState(id)).toBe('bounced');

      const [dsn] = await sink('sender').waitForMessages(1);
      expect(dsn?.envelope).toEqual({ mailFrom: '', rcptTo: ['bounces@saas.test'] });
      const parsed = await simpleParser(dsn?.raw ?? Buffer.alloc(0));
      expect(parsed.headers.get('content-type')).toMatchObject({
        value: 'multipart/report',
        params: expect.objectContaining({ 'report-type': 'delivery-status' }) as unknown,
      });
      expect(dsn?.raw.toString()).toMatch(/Final-Recipient: rfc822; ?unknown@dest\.test/);
      expect(dsn?.raw.toString()).toContain('5.1.1');
      const [sent] = await egress.events(id, 'delivery.dsn_sent');
      expect(sent).toBeDefined();
    } finally {
      await egress.setTenant({ dsn: false });
    }
  });
});
