import { createTestResolver, verifyWithDkimpy, waitFor } from '@ser/testing';
import { dkimVerify } from 'mailauth/lib/dkim/verify';
import { onboardTenant } from './support/onboarding';
import type { OnboardedTenant } from './support/onboarding';
import { startRelayHarness } from './support/relay-harness';
import type { RelayHarness } from './support/relay-harness';

interface KeyView {
  id: string;
  selector: string;
  dnsRecord: { name: string; value: string; strings: string[] };
}

/**
 * DKIM through the whole relay: keys managed through the admin API and published on the loopback
 * DNS server, messages submitted over SMTP, and what the MX receives checked by mailauth and dkimpy.
 */
describe('DKIM through the whole relay', () => {
  let relay: RelayHarness;
  let tenant: OnboardedTenant;
  const published: Record<string, string> = {};

  beforeAll(async () => {
    relay = await startRelayHarness();
    tenant = await onboardTenant(relay, 'acme.test');
    relay.dns.set('dest.test', 'MX', [{ preference: 10, exchange: 'mx.dest.test' }]);
    relay.dns.set('mx.dest.test', 'A', ['127.0.0.1']);
    const record = await createTestResolver(relay.dns).resolve(
      `${tenant.selector}._domainkey.acme.test`,
      'TXT',
    );
    published[`${tenant.selector}._domainkey.acme.test`] = record.map((r) => r.join('')).join('');
    // A subdomain of the tenant's, without keys of its own.
    expect(
      (await relay.api('POST', `/v1/tenants/${tenant.tenantId}/domains`, { name: 'mail.acme.test' })).status,
    ).toBe(201);
  });

  afterAll(async () => {
    await relay?.stop();
  });

  async function newKey(algorithm: 'rsa' | 'ed25519'): Promise<KeyView> {
    const created = await relay.api<KeyView>('POST', `/v1/domains/${tenant.domainId}/dkim-keys`, {
      algorithm,
    });
    expect(created.status).toBe(201);
    relay.dns.set(created.body.dnsRecord.name, 'TXT', [created.body.dnsRecord.strings]);
    published[created.body.dnsRecord.name] = created.body.dnsRecord.value;
    expect((await relay.api('POST', `/v1/dkim-keys/${created.body.id}/activate`, {})).status).toBe(200);
    return created.body;
  }

  /** Sends one message and returns what the sink received for it. */
  async function send(from: string, subject: string): Promise<Buffer> {
    await relay.submit(tenant, {
      envelope: { from: 'bounces@saas-provider.test', to: ['user@dest.test'] },
      from,
      to: 'user@dest.test',
      subject,
      text: 'Your order has shipped.\r\n',
    });
    const received = await waitFor(
      () => relay.sink.messages.find((m) => m.raw.toString().includes(`Subject: ${subject}`)),
      { timeoutMs: 60000, description: `"${subject}" at the sink` },
    );
    return received.raw;
  }

  async function verify(raw: Buffer) {
    const dns = createTestResolver(relay.dns);
    const { results } = await dkimVerify(raw, { resolver: (name, type) => dns.resolve(name, type as 'TXT') });
    return {
      mailauth: results.map((r) => ({
        result: r.status.result,
        domain: r.signingDomain,
        selector: r.selector,
        aligned: r.status.aligned,
      })),
      dkimpy: verifyWithDkimpy(raw, published).map((r) => ({ valid: r.valid, selector: r.selector })),
    };
  }

  it('signs with the organisational domain for a subdomain sender, aligned with From', async () => {
    const raw = await send('Alerts <alerts@mail.acme.test>', 'Subdomain sender');
    const { mailauth, dkimpy } = await verify(raw);
    expect(mailauth).toEqual([
      { result: 'pass', domain: 'acme.test', selector: tenant.selector, aligned: 'acme.test' },
    ]);
    expect(dkimpy).toEqual([{ valid: true, selector: tenant.selector }]);
  });

  it('dual-signs once an Ed25519 key is active too, and keeps every message signed through an RSA rotation', async () => {
    const ed = await newKey('ed25519');
    let raw = await send('Billing <billing@acme.test>', 'Dual signed');
    let checked = await verify(raw);
    expect(checked.mailauth.map((r) => [r.selector, r.result])).toEqual([
      [tenant.selector, 'pass'],
      [ed.selector, 'pass'],
    ]);
    expect(checked.dkimpy).toEqual([
      { valid: true, selector: tenant.selector },
      { valid: true, selector: ed.selector },
    ]);

    const next = await newKey('rsa');
    raw = await send('Billing <billing@acme.test>', 'During rotation');
    checked = await verify(raw);
    expect(checked.mailauth.map((r) => [r.selector, r.result])).toEqual([
      [next.selector, 'pass'],
      [ed.selector, 'pass'],
    ]);

    expect((await relay.api('POST', `/v1/dkim-keys/${tenant.keyId}/retire`, {})).status).toBe(200);
    raw = await send('Billing <billing@acme.test>', 'After rotation');
    checked = await verify(raw);
    expect(checked.mailauth.map((r) => r.result)).toEqual(['pass', 'pass']);
    expect(checked.dkimpy.map((r) => r.valid)).toEqual([true, true]);
    expect(checked.mailauth[0]?.selector).toBe(next.selector);
  });
});
