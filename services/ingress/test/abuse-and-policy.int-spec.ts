import { waitFor } from '@ser/testing';
import { dataPayload } from './raw-smtp-client';
import type { RawSmtpClient, SmtpReply } from './raw-smtp-client';
import { expectCode, SubmissionFixture } from './submission-fixture';
import type { SeededTenant } from './tenant-seed';

const summary = (reply: SmtpReply) => ({ code: reply.code, enhanced: reply.enhanced, text: reply.text });
const INVALID = { code: 535, enhanced: '5.7.8', text: 'Authentication credentials invalid' };

function message(from: string, extraHeaders = ''): string {
  return `From: ${from}\r\nTo: x@dest.test\r\n${extraHeaders}Subject: Policy\r\n\r\nHello.\r\n`;
}

/** Credentials that stop working, brute force, bulk mail and rate limits, across two replicas. */
describe('ingress abuse protection and sending policy', () => {
  let fx: SubmissionFixture;
  let acme: SeededTenant;

  beforeAll(async () => {
    fx = await SubmissionFixture.start({
      SER_INGRESS_AUTH_FAILURES_PER_USER: '3',
      SER_INGRESS_AUTH_FAILURES_PER_IP: '1000',
      SER_INGRESS_MAX_AUTH_ATTEMPTS: '2',
      SER_INGRESS_CONFIG_CACHE_MS: '2000',
      SER_INGRESS_BULK_RECIPIENTS: '2',
    });
    acme = await fx.seed.tenant(['acme.test']);
  });

  afterAll(async () => {
    await fx?.close();
  });

  async function credentialFor(options: Parameters<SubmissionFixture['seed']['application']>[1] = {}) {
    const appId = await fx.seed.application(acme.tenantId, options);
    return { appId, credential: await fx.seed.credential(acme.tenantId, appId) };
  }

  async function authFailures(username: string): Promise<string[]> {
    return (await fx.events('auth.failed'))
      .filter((e) => e.data['username'] === username)
      .map((e) => [e.data['reason'], e.data['lock']].filter((v) => typeof v === 'string').join('/'));
  }

  async function send(client: RawSmtpClient, rcptTo: string[], body: string): Promise<SmtpReply> {
    expectCode(await client.command('MAIL FROM:<bounce@saas.test>'), 250);
    for (const rcpt of rcptTo) {
      expectCode(await client.command(`RCPT TO:<${rcpt}>`), 250);
    }
    expectCode(await client.command('DATA'), 354);
    return client.sendRaw(dataPayload(body));
  }

  it('stops a revoked credential within 30 s on every replica, closing sessions that are already open', async () => {
    const { credential } = await credentialFor();
    const other = await fx.startAnother({});
    const open = [await fx.login(credential), await fx.login(credential, { port: other.starttlsPort })];

    const revokedAt = Date.now();
    await fx.seed.repo.credentials.updateOne(
      { _id: credential.credentialId },
      { $set: { status: 'revoked' } },
    );
    for (const port of [fx.ingress.starttlsPort, other.starttlsPort]) {
      await waitFor(
        async () => {
          const client = await fx.open({ port });
          const reply = await client.authPlain(credential.username, credential.password);
          await client.close();
          return reply.code === 535;
        },
        { timeoutMs: 30_000, intervalMs: 250 },
      );
    }
    expect(Date.now() - revokedAt).toBeLessThan(30_000);
    for (const session of open) {
      expect(summary(await session.command('MAIL FROM:<a@acme.test>'))).toEqual({
        code: 421,
        enhanced: '4.7.0',
        text: 'The credential or application is no longer active, closing connection',
      });
      await session.whenClosed();
    }
    expect(await authFailures(credential.username)).toContain('credential_revoked');
  }, 45_000);

  it('refuses an expired credential and a suspended application', async () => {
    const { appId, credential } = await credentialFor();
    const expired = await fx.seed.credential(acme.tenantId, appId, 'active', new Date(Date.now() - 1000));
    const client = await fx.open();
    expect(summary(await client.authPlain(expired.username, expired.password))).toEqual(INVALID);
    expect(await authFailures(expired.username)).toEqual(['credential_expired']);

    const session = await fx.login(credential);
    await fx.seed.repo.applications.updateOne({ _id: appId }, { $set: { status: 'suspended' } });
    await waitFor(
      async () => {
        const reply = await session.command('MAIL FROM:<a@acme.test>');
        if (reply.code === 250) {
          expectCode(await session.command('RSET'), 250);
        }
        return reply.code === 421;
      },
      { timeoutMs: 30_000, intervalMs: 250 },
    );
    await session.whenClosed();
  }, 45_000);

  it('locks a user name out after repeated failures counted across two replicas', async () => {
    const { credential } = await credentialFor();
    const other = await fx.startAnother({});
    for (const port of [fx.ingress.starttlsPort, fx.ingress.starttlsPort, other.starttlsPort]) {
      const client = await fx.open({ port });
      expect(summary(await client.authPlain(credential.username, 'wrong-secret'))).toEqual(INVALID);
      await client.close();
    }

    // Now even the right secret fails, on either replica, and the server hangs up.
    const client = await fx.open();
    expect(summary(await client.authPlain(credential.username, credential.password))).toEqual(INVALID);
    await client.whenClosed();
    expect((await authFailures(credential.username)).sort()).toEqual([
      'locked_out/user',
      'wrong_secret',
      'wrong_secret',
      'wrong_secret',
    ]);
  });

  it('caps AUTH attempts on one connection and refuses a PLAIN authorization identity of someone else', async () => {
    const { credential } = await credentialFor();
    const client = await fx.open();
    const token = Buffer.from(`someone-else\0${credential.username}\0${credential.password}`).toString(
      'base64',
    );
    expect(summary(await client.command(`AUTH PLAIN ${token}`))).toEqual(INVALID);
    expect(summary(await client.authPlain('app_unknown', 'x'))).toEqual(INVALID);
    expect(summary(await client.authPlain(credential.username, credential.password))).toEqual({
      code: 421,
      enhanced: '4.7.0',
      text: 'Too many failed authentication attempts, closing connection',
    });
    await client.whenClosed();
    expect(await authFailures(credential.username)).toEqual(['authzid_mismatch']);
  });

  it('refuses bulk mail with 550 5.7.1, or accepts and flags it under the flag policy', async () => {
    const { credential } = await credentialFor();
    const before = await fx.refusedMessageIds();
    const refused = await send(
      await fx.login(credential),
      ['x@dest.test'],
      message('a@acme.test', 'Precedence: bulk\r\n'),
    );
    expect(summary(refused)).toEqual({
      code: 550,
      enhanced: '5.7.1',
      text: 'This looks like bulk mail (Precedence: bulk); this relay accepts transactional mail only',
    });
    const [refusedId] = (await fx.refusedMessageIds()).filter((id) => !before.includes(id));
    expect(await fx.trace(refusedId ?? '')).toEqual({ message: null, recipients: [], bodyStored: false });
    const unsubscribe = 'List-Unsubscribe: <https://acme.test/u>\r\n';
    expectCode(
      await send(
        await fx.login(credential),
        ['x@dest.test', 'y@dest.test'],
        message('a@acme.test', unsubscribe),
      ),
      250,
    );
    expectCode(
      await send(
        await fx.login(credential),
        ['x@dest.test', 'y@dest.test', 'z@dest.test'],
        message('a@acme.test', unsubscribe),
      ),
      550,
    );

    const flagging = await credentialFor({ bulkPolicy: 'flag' });
    const accepted = await send(
      await fx.login(flagging.credential),
      ['x@dest.test'],
      message('a@acme.test', 'Precedence: list\r\n'),
    );
    expectCode(accepted, 250);
    const messageId = accepted.text.replace('Ok: queued as ', '');
    expect((await fx.trace(messageId)).message).toMatchObject({ state: 'accepted', bulk: true });
    const flagged = (await fx.events('message.flagged')).filter((e) => e.messageId === messageId);
    expect(flagged.map((e) => e.data['bulk'])).toEqual(['Precedence: list']);
  });

  it('limits messages per minute per application across replicas with 451 4.7.1', async () => {
    const limited = await credentialFor({ limits: { messagesPerMinute: 2 } });
    const other = await fx.startAnother({});
    expectCode(await send(await fx.login(limited.credential), ['x@dest.test'], message('a@acme.test')), 250);
    expectCode(
      await send(
        await fx.login(limited.credential, { port: other.starttlsPort }),
        ['x@dest.test'],
        message('a@acme.test'),
      ),
      250,
    );
    const third = await fx.login(limited.credential);
    const reply = await third.command('MAIL FROM:<a@acme.test>');
    expect(reply.code).toBe(451);
    expect(reply.enhanced).toBe('4.7.1');
    expect(reply.text).toMatch(
      /^Rate limit reached: at most 2 messages per minute for this application, try again in ([1-9]|[1-5]\d|60) s$/,
    );
    const refusals = (await fx.events('envelope.refused')).filter((e) => e.appId === limited.appId);
    expect(refusals.map((e) => e.data['reason'])).toEqual(['rate_limited']);

    const unaffected = await credentialFor();
    expectCode(
      await send(await fx.login(unaffected.credential), ['x@dest.test'], message('a@acme.test')),
      250,
    );

    const fewRecipients = await credentialFor({ limits: { recipientsPerDay: 3 } });
    const client = await fx.login(fewRecipients.credential);
    expectCode(await client.command('MAIL FROM:<a@acme.test>'), 250);
    for (const rcpt of ['r1@dest.test', 'r2@dest.test', 'r3@dest.test']) {
      expectCode(await client.command(`RCPT TO:<${rcpt}>`), 250);
    }
    const fourth = await client.command('RCPT TO:<r4@dest.test>');
    expect({ code: fourth.code, enhanced: fourth.enhanced }).toEqual({ code: 451, enhanced: '4.7.1' });
    expect(fourth.text).toMatch(/^Rate limit reached: at most 3 recipients per day for this application/);
  });

  it('lets From patterns narrow the addresses an application may use', async () => {
    const { credential } = await credentialFor({ allowedFromAddresses: ['alerts-*@acme.test'] });
    expectCode(await send(await fx.login(credential), ['x@dest.test'], message('alerts-7@acme.test')), 250);
    expect(
      summary(await send(await fx.login(credential), ['x@dest.test'], message('ceo@acme.test'))),
    ).toEqual({
      code: 550,
      enhanced: '5.7.1',
      text: 'This application may not send as ceo@acme.test',
    });
  });
});

/** Its own fixture (own Redis prefix): locking 127.0.0.1 out would stop every other test. */
describe('ingress per-IP lockout', () => {
  let fx: SubmissionFixture;

  beforeAll(async () => {
    fx = await SubmissionFixture.start({
      SER_INGRESS_AUTH_FAILURES_PER_IP: '4',
      SER_INGRESS_AUTH_FAILURES_PER_USER: '100',
    });
  });

  afterAll(async () => {
    await fx?.close();
  });

  it('locks a client IP out after failures with many user names, even for a valid credential', async () => {
    const tenant = await fx.seed.tenant(['iplock.test']);
    const valid = await fx.seed.credential(tenant.tenantId, await fx.seed.application(tenant.tenantId));
    for (let i = 0; i < 4; i += 1) {
      const client = await fx.open();
      expect(summary(await client.authPlain(`app_guess${i}`, 'secret'))).toEqual(INVALID);
      await client.close();
    }

    const client = await fx.open();
    expect(summary(await client.authPlain(valid.username, valid.password))).toEqual({
      code: 454,
      enhanced: '4.7.0',
      text: 'Too many failed authentications from your address, try again later',
    });
    await client.whenClosed();
    const failed = (await fx.events('auth.failed')).filter((e) => e.data['username'] === valid.username);
    expect(failed.map((e) => [e.data['reason'], e.data['lock']])).toEqual([['locked_out', 'ip']]);
  });
});
