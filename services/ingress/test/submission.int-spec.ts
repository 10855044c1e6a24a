import { jobIds } from '@ser/contracts';
import { waitFor } from '@ser/testing';
import { randomBytes } from 'node:crypto';
import { dataPayload, RawSmtpClient } from './raw-smtp-client';
import type { SmtpReply } from './raw-smtp-client';
import { expectCode, SubmissionFixture } from './submission-fixture';
import type { SeededCredential, SeededTenant } from './tenant-seed';

const MAX_RECIPIENTS = 3;
const MAX_MESSAGE_BYTES = 100_000;

/** The reply's code, enhanced status code and text, for one exact comparison. */
const summary = (reply: SmtpReply) => ({ code: reply.code, enhanced: reply.enhanced, text: reply.text });

function message(from: string, extraHeaders = ''): string {
  return `From: ${from}\r\nTo: someone@dest.test\r\n${extraHeaders}Subject: Test\r\n\r\nHello.\r\n`;
}

/** Real ingress module, real Redis and FerretDB; tenant data seeded straight into the database. */
describe('ingress submission', () => {
  let fx: SubmissionFixture;
  let acme: SeededTenant;
  let acmeAppId: string;
  let sender: SeededCredential;
  let restricted: SeededCredential;
  let revoked: SeededCredential;
  let suspendedApp: SeededCredential;
  let suspendedTenant: SeededCredential;

  beforeAll(async () => {
    fx = await SubmissionFixture.start({
      SER_INGRESS_MAX_RECIPIENTS: String(MAX_RECIPIENTS),
      SER_INGRESS_MAX_MESSAGE_BYTES: String(MAX_MESSAGE_BYTES),
    });
    acme = await fx.seed.tenant(['acme.test', 'news.acme.test']);
    await fx.seed.tenant(['globex.test']);
    acmeAppId = await fx.seed.application(acme.tenantId);
    sender = await fx.seed.credential(acme.tenantId, acmeAppId);
    revoked = await fx.seed.credential(acme.tenantId, acmeAppId, 'revoked');
    const restrictedApp = await fx.seed.application(acme.tenantId, { allowedFromDomains: ['acme.test'] });
    restricted = await fx.seed.credential(acme.tenantId, restrictedApp);
    const suspended = await fx.seed.application(acme.tenantId, { status: 'suspended' });
    suspendedApp = await fx.seed.credential(acme.tenantId, suspended);
    const initech = await fx.seed.tenant(['initech.test'], 'suspended');
    suspendedTenant = await fx.seed.credential(initech.tenantId, await fx.seed.application(initech.tenantId));
  });

  afterAll(async () => {
    await fx?.close();
  });

  /** MAIL, RCPT and DATA; the message is sent only if every step was accepted. */
  async function submit(
    client: RawSmtpClient,
    envelope: { mailFrom: string; rcptTo: string[] },
    body: string | Buffer,
  ): Promise<SmtpReply> {
    expectCode(await client.command(`MAIL FROM:<${envelope.mailFrom}>`), 250);
    for (const rcpt of envelope.rcptTo) {
      expectCode(await client.command(`RCPT TO:<${rcpt}>`), 250);
    }
    expectCode(await client.command('DATA'), 354);
    return client.sendRaw(dataPayload(body));
  }

  /** The one message refused since `refusedBefore` left no record, ledger, body or chunk behind. */
  async function expectNothingStored(refusedBefore: string[]): Promise<void> {
    const refused = (await fx.refusedMessageIds()).filter((id) => !refusedBefore.includes(id));
    expect(refused).toHaveLength(1);
    expect(await fx.trace(refused[0]!)).toEqual({ message: null, recipients: [], bodyStored: false });
    expect(await fx.orphanChunks()).toBe(0);
  }

  it('requires STARTTLS before AUTH and AUTH before MAIL on the submission port', async () => {
    const plain = await fx.open({ plain: true });
    expect(plain.encrypted).toBe(false);
    expect(summary(await plain.authPlain(sender.username, sender.password))).toEqual({
      code: 538,
      enhanced: '5.7.11',
      text: 'Encryption required: send STARTTLS before AUTH (RFC 3207, RFC 4954)',
    });

    await plain.startTls();
    expect(plain.encrypted).toBe(true);
    const ehlo = await plain.command('EHLO client.test');
    expect(ehlo.lines).toContain('250-AUTH PLAIN LOGIN');
    expect(ehlo.lines).not.toContain('250-STARTTLS');
    expect(summary(await plain.command('MAIL FROM:<billing@acme.test>'))).toEqual({
      code: 530,
      enhanced: '5.7.0',
      text: 'Authentication required',
    });
  });

  // smtp-server lists AUTH in every EHLO reply; the reply policy hides it before STARTTLS (RFC 4954 §4).
  it('does not advertise AUTH on the submission port before STARTTLS', async () => {
    const { client, greeting } = await RawSmtpClient.connect({
      port: fx.ingress.starttlsPort,
      ca: fx.setup.tls.cert,
    });
    try {
      expectCode(greeting, 220);
      const ehlo = await client.command('EHLO client.test');
      expect(ehlo.lines).toContain('250-STARTTLS');
      expect(ehlo.lines.some((l) => /^250[ -]AUTH\b/.test(l))).toBe(false);
    } finally {
      await client.close();
    }
  });

  it('refuses bad credentials with one 535 5.7.8 reply and queues auth.failed with the reason', async () => {
    const cases = [
      { user: sender.username, pass: `${sender.password}x`, reason: 'wrong_secret' },
      { user: 'app_doesnotexist', pass: sender.password, reason: 'unknown_user' },
      { user: revoked.username, pass: revoked.password, reason: 'credential_revoked' },
      { user: suspendedApp.username, pass: suspendedApp.password, reason: 'app_suspended' },
      { user: suspendedTenant.username, pass: suspendedTenant.password, reason: 'tenant_suspended' },
    ];
    for (const { user, pass } of cases) {
      const client = await fx.open();
      expect(summary(await client.authPlain(user, pass))).toEqual({
        code: 535,
        enhanced: '5.7.8',
        text: 'Authentication credentials invalid',
      });
      await client.close();
    }

    const failed = await fx.events('auth.failed');
    for (const { user, reason } of cases) {
      expect(failed.filter((e) => e.data['username'] === user).map((e) => e.data['reason'])).toEqual([
        reason,
      ]);
    }
  });

  it.each([
    ['the submission port (STARTTLS)', false],
    ['the submissions port (implicit TLS)', true],
  ])('accepts AUTH PLAIN and AUTH LOGIN on %s', async (_name, implicitTls) => {
    const viaPlain = await fx.open({ implicitTls });
    expect(viaPlain.encrypted).toBe(true);
    expect((await viaPlain.authPlain(sender.username, sender.password)).lines).toEqual([
      '235 2.7.0 Authentication successful',
    ]);
    const viaLogin = await fx.open({ implicitTls });
    expect((await viaLogin.authLogin(sender.username, sender.password)).lines).toEqual([
      '235 2.7.0 Authentication successful',
    ]);
    await Promise.all([viaPlain.close(), viaLogin.close()]);
  });

  it('records the last use of a credential, at most once a minute', async () => {
    const fresh = await fx.seed.credential(acme.tenantId, acmeAppId);
    const lastUse = async () => {
      const doc = await fx.seed.repo.credentials.findOne({ _id: fresh.credentialId });
      return { at: doc?.lastUsedAt, ip: doc?.lastUsedIp };
    };
    expect(await lastUse()).toEqual({ at: undefined, ip: undefined });

    await fx.login(fresh);
    const first = await waitFor(async () => {
      const use = await lastUse();
      return use.at === undefined ? undefined : use;
    });
    expect(first.ip).toBe('127.0.0.1');
    expect(Date.now() - (first.at?.getTime() ?? 0)).toBeLessThan(60_000);

    const again = await fx.login(fresh);
    expectCode(await again.command('NOOP'), 250);
    expect(await lastUse()).toEqual(first);
  });

  it('stores body, record, ledger and scan job before 250 2.0.0', async () => {
    const client = await fx.login(sender);
    // Lines starting with a dot are dot-stuffed on the wire and must be stored unstuffed.
    const body =
      message('Billing <billing@acme.test>', 'Message-ID: <m1@acme.test>\r\n') +
      '.a line with a leading dot\r\n..two dots\r\n.\r\nlast line\r\n';
    const envelope = { mailFrom: 'bounces+7@saas.test', rcptTo: ['a@dest.test', 'B@Other.test'] };

    const reply = await submit(client, envelope, body);
    const messageId = /^Ok: queued as ([0-9a-z]{26})$/.exec(reply.text)?.[1] ?? '';
    expect(summary(reply)).toEqual({ code: 250, enhanced: '2.0.0', text: `Ok: queued as ${messageId}` });

    // Stored as sent, below the relay's Received field and with the Date it lacked.
    const stored = (await fx.store.read(messageId)).toString('latin1');
    expect(stored).toMatch(/^Received: from client\.test \(\[127\.0\.0\.1\]\)\r\n\tby relay\.test /);
    const [head = '', rest = ''] = stored.split(/\r\n(?=From: )/);
    expect(head).toContain(`(authenticated application ${acmeAppId})`);
    expect(rest.replace(/\r\nDate: [^\r]+(?=\r\n\r\n)/, '')).toBe(body);
    const trace = await fx.trace(messageId);
    expect(trace.message).toMatchObject({
      _id: messageId,
      tenantId: acme.tenantId,
      appId: acmeAppId,
      credentialId: sender.credentialId,
      state: 'accepted',
      envelope,
      headerFrom: 'billing@acme.test',
      fromDomain: 'acme.test',
      subject: 'Test',
      size: Buffer.byteLength(stored, 'latin1'),
      client: { ip: '127.0.0.1', tls: true },
    });
    expect(trace.recipients.map((r) => ({ address: r.address, domain: r.domain, state: r.state }))).toEqual([
      { address: 'a@dest.test', domain: 'dest.test', state: 'pending' },
      { address: 'b@other.test', domain: 'other.test', state: 'pending' },
    ]);
    const job = await fx.queues.queue('scan').getJob(jobIds.scan(messageId));
    expect(job?.data).toEqual({ v: 1, messageId });
  });

  it('enforces the sender policy with 550 5.7.1, 553 5.1.3 and 452 4.5.3', async () => {
    const policy = (text: string) => ({ code: 550, enhanced: '5.7.1', text });
    const dataCases = [
      {
        credential: sender,
        from: 'ceo@globex.test',
        reply: policy('From domain globex.test is not a domain of this organisation'),
      },
      {
        credential: restricted,
        from: 'news@news.acme.test',
        reply: policy('This application may not send as news.acme.test'),
      },
      {
        credential: sender,
        from: 'a@acme.test, b@acme.test',
        reply: policy('The message must have exactly one From address, or exactly one Sender address'),
      },
      {
        credential: sender,
        from: 'a@acme.test\r\nFrom: b@acme.test',
        reply: policy('The message must have exactly one From header field'),
      },
    ];
    for (const { credential, from, reply } of dataCases) {
      const client = await fx.login(credential);
      const before = await fx.refusedMessageIds();
      const refusal = await submit(
        client,
        { mailFrom: 'b@acme.test', rcptTo: ['x@dest.test'] },
        message(from),
      );
      expect(summary(refusal)).toEqual(reply);
      await expectNothingStored(before);
    }

    const client = await fx.login(sender);
    expect(summary(await client.command('MAIL FROM:<>'))).toEqual(
      policy('A null sender <> is not accepted for submission'),
    );
    expectCode(await client.command('MAIL FROM:<b@acme.test>'), 250);
    expect(summary(await client.command('RCPT TO:<u@[127.0.0.1]>'))).toEqual({
      code: 553,
      enhanced: '5.1.3',
      text: 'The recipient is not a valid address',
    });
    for (let i = 1; i <= MAX_RECIPIENTS; i += 1) {
      expectCode(await client.command(`RCPT TO:<r${i}@dest.test>`), 250);
    }
    expect(summary(await client.command('RCPT TO:<r4@dest.test>'))).toEqual({
      code: 452,
      enhanced: '4.5.3',
      text: `Too many recipients (at most ${MAX_RECIPIENTS})`,
    });
  });

  it('refuses an oversize message with 552 5.3.4 after the final dot and keeps nothing', async () => {
    const client = await fx.login(sender);
    const before = await fx.refusedMessageIds();
    const filler = randomBytes(225 * 1024)
      .toString('base64')
      .replace(/(.{76})/g, '$1\r\n');
    const body = `${message('billing@acme.test')}${filler}\r\n`;
    expect(Buffer.byteLength(body)).toBeGreaterThan(300_000);

    const reply = await submit(client, { mailFrom: 'b@acme.test', rcptTo: ['x@dest.test'] }, body);
    expect(summary(reply)).toEqual({
      code: 552,
      enhanced: '5.3.4',
      text: `Message exceeds the size limit of ${MAX_MESSAGE_BYTES} bytes`,
    });
    // In step: had the reply come before the final dot, the body's lines would now be answered
    // as commands, and NOOP would not get the next reply.
    expectCode(await client.command('NOOP'), 250);
    await expectNothingStored(before);
  });

  it('closes both listeners on stop: a new connection is refused', async () => {
    const other = await fx.startAnother({});
    const ports = [other.starttlsPort, other.implicitTlsPort];
    const { client } = await RawSmtpClient.connect({ port: other.starttlsPort, ca: fx.setup.tls.cert });
    await client.close();

    await other.running.stop();

    for (const port of ports) {
      await expect(
        RawSmtpClient.connect({ port, implicitTls: port === other.implicitTlsPort, ca: fx.setup.tls.cert }),
      ).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    }
  });
});
