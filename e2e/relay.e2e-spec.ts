import { createTestResolver } from '@ser/testing';
import { dkimVerify } from 'mailauth/lib/dkim/verify';
import { onboardTenant } from './support/onboarding';
import type { OnboardedTenant } from './support/onboarding';
import { startRelayHarness } from './support/relay-harness';
import type { RelayHarness } from './support/relay-harness';

// The EICAR anti-virus test file (https://www.eicar.org), split so that this source file itself
// is not detected by scanners.
const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$' + 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

interface MessageView {
  state: string;
  reason?: string;
  recipients: { address: string; state: string }[];
  timeline: { type: string; data: Record<string, unknown> }[];
}

describe('a message through the whole relay', () => {
  let relay: RelayHarness;
  let tenant: OnboardedTenant;

  beforeAll(async () => {
    relay = await startRelayHarness();
    tenant = await onboardTenant(relay, 'acme.test');
    relay.dns.set('dest.test', 'MX', [{ preference: 10, exchange: 'mx.dest.test' }]);
    relay.dns.set('mx.dest.test', 'A', ['127.0.0.1']);
  });

  afterAll(async () => {
    await relay?.stop();
  });

  const send = (options: {
    subject: string;
    text: string;
    attachments?: { filename: string; content: string }[];
  }): Promise<string> =>
    relay.submit(tenant, {
      // The envelope sender is a SaaS provider's bounce domain; DMARC passes through DKIM alignment.
      envelope: { from: 'bounces+123@saas-provider.test', to: ['user@dest.test'] },
      from: 'Billing <billing@acme.test>',
      to: 'user@dest.test',
      ...options,
    });

  const messageWhen = (messageId: string, done: (m: MessageView) => boolean, description: string) =>
    relay.messageWhen<MessageView>(messageId, done, description);

  it('delivers a DKIM-signed message, aligned with From, to the MX found through DNS', async () => {
    const messageId = await send({ subject: 'Your receipt', text: 'Thank you for your order.\r\n' });

    const [received] = await relay.sink.waitForMessages(1, 60000);
    expect(received?.envelope).toEqual({
      mailFrom: 'bounces+123@saas-provider.test',
      rcptTo: ['user@dest.test'],
    });
    expect(received?.tls).toBe(true);
    const raw = received?.raw ?? Buffer.alloc(0);
    expect(raw.toString()).toContain('Subject: Your receipt');

    const dns = createTestResolver(relay.dns);
    const verification = await dkimVerify(raw, {
      resolver: (name, type) => dns.resolve(name, type as 'TXT'),
    });
    const signature = verification.results[0];
    expect(verification.results).toHaveLength(1);
    expect(signature?.status.result).toBe('pass');
    expect(signature?.signingDomain).toBe('acme.test');
    expect(signature?.selector).toBe(tenant.selector);
    expect(signature?.status.aligned).toBe('acme.test');

    const view = await messageWhen(
      messageId,
      (m) => m.state === 'delivered' && m.timeline.some((e) => e.type === 'delivery.succeeded'),
      'message delivered with its timeline',
    );
    expect(view.recipients).toEqual([
      expect.objectContaining({ address: 'user@dest.test', state: 'delivered' }),
    ]);
    expect(view.timeline.map((e) => e.type)).toEqual([
      'message.accepted',
      'message.scanned',
      'message.signed',
      'delivery.attempted',
      'delivery.succeeded',
    ]);
  });

  it('does not deliver a message with the EICAR test virus and says why', async () => {
    const before = relay.sink.messages.length;
    const messageId = await send({
      subject: 'Invoice attached',
      text: 'See attachment.\r\n',
      attachments: [{ filename: 'invoice.com', content: EICAR }],
    });

    const view = await messageWhen(
      messageId,
      (m) => m.timeline.some((e) => e.type === 'message.rejected_av'),
      'AV rejection',
    );
    expect(view.state).toBe('rejected_av');
    expect(view.reason).toMatch(/^virus: Eicar-Test-Signature/);
    const rejection = view.timeline.find((e) => e.type === 'message.rejected_av');
    expect(rejection?.data['av']).toMatchObject({ engine: 'clamav', result: 'infected' });
    expect(String((rejection?.data['av'] as { signature?: string } | undefined)?.signature)).toMatch(
      /^Eicar-Test-Signature/,
    );
    expect(view.timeline.map((e) => e.type)).not.toContain('message.signed');
    expect(relay.sink.messages.length).toBe(before);
  });
});
