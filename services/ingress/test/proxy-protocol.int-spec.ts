import { RawSmtpClient } from './raw-smtp-client';
import type { SmtpReply } from './raw-smtp-client';
import { expectCode, SubmissionFixture } from './submission-fixture';
import type { SeededCredential } from './tenant-seed';

const summary = (reply: SmtpReply) => ({ code: reply.code, enhanced: reply.enhanced, text: reply.text });
const PROXY_LINE = 'PROXY TCP4 203.0.113.7 127.0.0.1 51000 587';

/** The PROXY protocol and XCLIENT may change who the client is: only trusted peers get them. */
describe('ingress behind a load balancer', () => {
  let fx: SubmissionFixture;
  let remoteOnly: SeededCredential;

  beforeAll(async () => {
    fx = await SubmissionFixture.start({});
    const tenant = await fx.seed.tenant(['proxied.test']);
    const app = await fx.seed.application(tenant.tenantId, { allowedSourceIps: ['203.0.113.0/24'] });
    remoteOnly = await fx.seed.credential(tenant.tenantId, app);
  });

  afterAll(async () => {
    await fx?.close();
  });

  async function authenticateThrough(port: number, proxyHeader?: string): Promise<SmtpReply> {
    const { client, greeting } = await RawSmtpClient.connect({
      port,
      ca: fx.setup.tls.cert,
      ...(proxyHeader === undefined ? {} : { proxyHeader }),
    });
    try {
      expectCode(greeting, 220);
      expectCode(await client.command('EHLO client.test'), 250);
      await client.startTls();
      expectCode(await client.command('EHLO client.test'), 250);
      return await client.authPlain(remoteOnly.username, remoteOnly.password);
    } finally {
      await client.close();
    }
  }

  it('takes the client address from the PROXY header of a trusted load balancer', async () => {
    const behindProxy = await fx.startAnother({ SER_INGRESS_PROXY_TRUSTED: ['127.0.0.1'] });

    expectCode(await authenticateThrough(behindProxy.starttlsPort, PROXY_LINE), 235);
    const succeeded = await fx.events('auth.succeeded');
    expect(
      succeeded.filter((e) => e.data['username'] === remoteOnly.username).map((e) => e.data['clientIp']),
    ).toEqual(['203.0.113.7']);
    const connected = await fx.events('session.connected');
    expect(connected.filter((e) => e.data['clientIp'] === '203.0.113.7')).toHaveLength(1);
  });

  it('ignores PROXY headers and refuses XCLIENT when no load balancer is trusted', async () => {
    // Without the header the real address (127.0.0.1) is outside the application's allowlist.
    expect(summary(await authenticateThrough(fx.ingress.starttlsPort))).toEqual({
      code: 535,
      enhanced: '5.7.8',
      text: 'Authentication credentials invalid',
    });
    const { client, greeting } = await RawSmtpClient.connect({
      port: fx.ingress.starttlsPort,
      ca: fx.setup.tls.cert,
    });
    try {
      expectCode(greeting, 220);
      expect(summary(await client.command(PROXY_LINE))).toEqual({
        code: 500,
        enhanced: '5.5.2',
        text: 'Error: command not recognized',
      });
      const ehlo = await client.command('EHLO client.test');
      expect(ehlo.lines.some((l) => /XCLIENT|XFORWARD/.test(l))).toBe(false);
      expect(summary(await client.command('XCLIENT ADDR=203.0.113.7'))).toEqual({
        code: 550,
        enhanced: '5.7.0',
        text: 'Error: Not allowed',
      });
    } finally {
      await client.close();
    }
    const failed = await fx.events('auth.failed');
    expect(
      failed.filter((e) => e.data['username'] === remoteOnly.username).map((e) => e.data['reason']),
    ).toEqual(['ip_not_allowed']);
  });
});
