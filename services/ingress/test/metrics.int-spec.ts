import { metricDeltas } from '@ser/testing';
import { dataPayload, RawSmtpClient } from './raw-smtp-client';
import { expectCode, SubmissionFixture } from './submission-fixture';
import type { SeededCredential } from './tenant-seed';

/** Real ingress, real SMTP over TCP and TLS, real Redis and FerretDB; counters read from the global registry. */
describe('ingress metrics', () => {
  let fx: SubmissionFixture;
  let sender: SeededCredential;

  beforeAll(async () => {
    fx = await SubmissionFixture.start({});
    const tenant = await fx.seed.tenant(['acme.test']);
    sender = await fx.seed.credential(tenant.tenantId, await fx.seed.application(tenant.tenantId));
  });

  afterAll(async () => {
    await fx?.close();
  });

  it.each([
    ['submission', false],
    ['submissions', true],
  ])(
    'counts a session on the %s listener, its AUTH and the 250 that accepts its message',
    async (listener, implicitTls) => {
      const grown = await metricDeltas(
        {
          sessions: ['ser_smtp_sessions_total', { listener }],
          accepted: ['ser_smtp_replies_total', { code: '250' }],
          authenticated: ['ser_smtp_replies_total', { code: '235' }],
        },
        async () => {
          const client = await fx.open({ implicitTls });
          expectCode(await client.authPlain(sender.username, sender.password), 235);
          expectCode(await client.command('MAIL FROM:<billing@acme.test>'), 250);
          expectCode(await client.command('RCPT TO:<someone@dest.test>'), 250);
          expectCode(await client.command('DATA'), 354);
          const body =
            'From: billing@acme.test\r\nTo: someone@dest.test\r\nSubject: Metrics\r\n\r\nHello.\r\n';
          expectCode(await client.sendRaw(dataPayload(body)), 250);
          await client.close();
        },
      );
      // Only the reply to the final dot counts as 250, not those to EHLO, MAIL and RCPT.
      expect(grown).toEqual({ sessions: 1, accepted: 1, authenticated: 1 });
    },
  );

  it.each<[string, (c: SeededCredential) => [string, string]]>([
    ['wrong_secret', (c) => [c.username, `${c.password}x`]],
    ['unknown_user', (c) => ['app_doesnotexist', c.password]],
  ])('counts a failed AUTH with reason %s and its 535 reply', async (reason, attempt) => {
    const grown = await metricDeltas(
      {
        failures: ['ser_smtp_auth_failures_total', { reason }],
        allFailures: ['ser_smtp_auth_failures_total', {}],
        refused: ['ser_smtp_replies_total', { code: '535' }],
      },
      async () => {
        const client = await fx.open();
        const [username, password] = attempt(sender);
        expectCode(await client.authPlain(username, password), 535);
        await client.close();
      },
    );
    expect(grown).toEqual({ failures: 1, allFailures: 1, refused: 1 });
  });

  it('counts AUTH before STARTTLS as an auth failure (tls_required) with its 538 reply', async () => {
    const grown = await metricDeltas(
      {
        failures: ['ser_smtp_auth_failures_total', { reason: 'tls_required' }],
        refused: ['ser_smtp_replies_total', { code: '538' }],
        noAuth: ['ser_smtp_replies_total', { code: '530' }],
      },
      async () => {
        const client = await fx.open({ plain: true });
        expectCode(await client.authPlain(sender.username, sender.password), 538);
        expectCode(await client.command('MAIL FROM:<billing@acme.test>'), 530);
        await client.close();
      },
    );
    expect(grown).toEqual({ failures: 1, refused: 1, noAuth: 1 });
  });

  it('serves the counters on the process ops endpoint', async () => {
    const client = await fx.open();
    await client.close();
    const response = await fetch(`http://127.0.0.1:${fx.ingress.running.opsPort}/metrics`);
    const text = await response.text();
    expect(response.status).toBe(200);
    expect(text).toMatch(/^ser_smtp_sessions_total\{listener="submission"\} [1-9]/m);
    expect(text).toContain('# TYPE ser_smtp_replies_total counter');
    expect(text).toContain('# TYPE ser_smtp_auth_failures_total counter');
  });

  // smtp-server sends this 421 from inside `connect` on a plain listener, before any handler runs.
  it('counts the 421 of a full plain listener', async () => {
    const full = await fx.startAnother({ SER_INGRESS_MAX_CONNECTIONS: 1 });
    const options = { port: full.starttlsPort, ca: fx.setup.tls.cert };
    const first = await RawSmtpClient.connect(options);
    const grown = await metricDeltas(
      {
        sessions: ['ser_smtp_sessions_total', { listener: 'submission' }],
        refused: ['ser_smtp_replies_total', { code: '421' }],
      },
      async () => {
        const second = await RawSmtpClient.connect(options);
        expectCode(second.greeting, 421);
        await second.client.close();
      },
    );
    await first.client.close();
    expect(grown).toEqual({ sessions: 1, refused: 1 });
  });
});
