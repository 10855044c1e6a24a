import { COLLECTIONS } from '@ser/data';
import type { MessageDocument } from '@ser/data';
import type { TestDnsServer } from '@ser/testing';
import type { Db } from 'mongodb';
import type { AdminClient } from './admin-client';
import { expectProblem, startAdminFixture } from './admin-fixture';
import type { AdminFixture } from './admin-fixture';

interface DkimKeyView {
  id: string;
  dnsRecord: { name: string; value: string; strings: string[] };
}

interface SpfDomainView {
  domain: string;
  source: string;
  record: string | null;
  authorised: boolean | null;
  ips: { ip: string; result: string; mechanism?: string }[];
  advice: string[];
}

interface DnsCheckView {
  domain: string;
  status: string;
  dkim: { keys: { keyId: string; published: boolean; matches: boolean; record: string | null }[] };
  dmarc: { present: boolean; name: string; advice: string[] };
  spf: { sendingIps: string[]; domains: SpfDomainView[] };
  advice: string[];
}

const RELAY_IP = '192.0.2.10';
const RELAY_INCLUDE = '_spf.relay.test';

/** GET /v1/domains/{id}/dns-check against the fixture's loopback DNS server. */
describe('admin API: domain DNS health', () => {
  let fixture: AdminFixture | undefined;
  let dns: TestDnsServer;
  let db: Db;
  let api: AdminClient;
  let domainCount = 0;

  beforeAll(async () => {
    fixture = await startAdminFixture({
      SER_RELAY_SENDING_IPS: RELAY_IP,
      SER_RELAY_SPF_INCLUDE: RELAY_INCLUDE,
    });
    ({ dns, db, api } = fixture);
    dns.set(RELAY_INCLUDE, 'TXT', ['v=spf1 ip4:192.0.2.0/24 -all']);
  });

  afterAll(async () => {
    await fixture?.stop();
  });

  /** A tenant and a domain with an active DKIM key whose record is published, as onboarding does. */
  const onboard = async () => {
    const name = `d${++domainCount}.acme.test`;
    const tenantId = (await api.created('/v1/tenants', { name: 'Acme' })).id;
    const domainId = (await api.created(`/v1/tenants/${tenantId}/domains`, { name })).id;
    const key = await api.created<DkimKeyView>(`/v1/domains/${domainId}/dkim-keys`, { algorithm: 'rsa' });
    dns.set(key.dnsRecord.name, 'TXT', [key.dnsRecord.strings]);
    await api.created(`/v1/dkim-keys/${key.id}/activate`, {}, 200);
    return { tenantId, domainId, name, key };
  };
  const dnsCheck = async (domainId: string) => {
    const response = await api.get<DnsCheckView>(`/v1/domains/${domainId}/dns-check`);
    expect(response.status).toBe(200);
    return response.body;
  };
  const spfOf = (report: DnsCheckView, domain: string) => report.spf.domains.find((d) => d.domain === domain);

  it('requires the bearer token and answers 404 for an unknown domain', async () => {
    const { domainId } = await onboard();
    expectProblem(
      await api.withToken(undefined).get(`/v1/domains/${domainId}/dns-check`),
      401,
      'unauthorized',
    );
    expectProblem(await api.get('/v1/domains/dom_unknown/dns-check'), 404, 'not-found');
  });

  it('reports a matching DKIM key, a missing DMARC record and an SPF record without the relay', async () => {
    const { domainId, name, key } = await onboard();
    dns.set(name, 'TXT', ['v=spf1 ip4:198.51.100.1 ~all']);

    const report = await dnsCheck(domainId);

    expect(report.dkim.keys).toEqual([
      expect.objectContaining({ keyId: key.id, published: true, matches: true, record: key.dnsRecord.value }),
    ]);
    expect(report.dmarc).toMatchObject({ present: false, name: `_dmarc.${name}` });
    expect(report.dmarc.advice).toEqual([expect.stringContaining('v=DMARC1; p=none; rua=mailto:')]);
    expect(report.spf.sendingIps).toEqual([RELAY_IP]);
    expect(spfOf(report, name)).toMatchObject({
      source: 'domain',
      record: 'v=spf1 ip4:198.51.100.1 ~all',
      authorised: false,
      ips: [{ ip: RELAY_IP, result: 'softfail', mechanism: '~all' }],
    });
    expect(spfOf(report, name)?.advice).toEqual([
      expect.stringContaining(
        `add include:${RELAY_INCLUDE}, e.g. "v=spf1 ip4:198.51.100.1 include:${RELAY_INCLUDE} ~all"`,
      ),
    ]);
    expect(report.status).toBe('warnings');
    expect(report.advice).toEqual(
      expect.arrayContaining([...report.dmarc.advice, ...(spfOf(report, name)?.advice ?? [])]),
    );
  });

  it('passes SPF through include: of the relay, and reports a DMARC record', async () => {
    const { domainId, name } = await onboard();
    dns.set(name, 'TXT', [`v=spf1 mx include:${RELAY_INCLUDE} -all`]);
    dns.set(`_dmarc.${name}`, 'TXT', [`v=DMARC1; p=reject; rua=mailto:dmarc@${name}`]);

    const report = await dnsCheck(domainId);

    expect(spfOf(report, name)).toMatchObject({
      authorised: true,
      ips: [{ ip: RELAY_IP, result: 'pass', mechanism: `include:${RELAY_INCLUDE}` }],
      advice: [],
    });
    expect(report.dmarc).toMatchObject({ present: true, policy: 'reject', rua: [`mailto:dmarc@${name}`] });
    expect(report).toMatchObject({ status: 'ok', advice: [] });
  });

  it('advises ~all during the migration when a -all record fails the relay', async () => {
    const { domainId, name } = await onboard();
    dns.set(name, 'TXT', [['v=spf1 ip4:198.51.100.0/24 ', '-all']]);

    const report = await dnsCheck(domainId);

    expect(spfOf(report, name)).toMatchObject({
      record: 'v=spf1 ip4:198.51.100.0/24 -all',
      ips: [{ result: 'fail' }],
    });
    expect(spfOf(report, name)?.advice).toEqual([
      expect.stringContaining(`add include:${RELAY_INCLUDE}`),
      expect.stringContaining('use ~all (softfail)'),
    ]);
    expect(report.status).toBe('errors');
  });

  it("checks the envelope-sender domains of the tenant's messages of the last 30 days", async () => {
    const { tenantId, domainId, name } = await onboard();
    dns.set(name, 'TXT', [`v=spf1 include:${RELAY_INCLUDE} ~all`]);
    dns.set('bounces.acme-mail.test', 'TXT', ['v=spf1 -all']);
    const day = 24 * 3600 * 1000;
    await db
      .collection<Partial<MessageDocument>>(COLLECTIONS.messages)
      .insertMany([
        message(tenantId, 'bounce+1@Bounces.Acme-Mail.test', new Date()),
        message(tenantId, `alerts@${name}`, new Date()),
        message(tenantId, '', new Date()),
        message(tenantId, 'old@old-sender.test', new Date(Date.now() - 40 * day)),
        message('ten_other', 'x@other-tenant.test', new Date()),
      ]);

    const report = await dnsCheck(domainId);

    expect(report.spf.domains.map((d) => [d.domain, d.source])).toEqual([
      [name, 'domain'],
      ['bounces.acme-mail.test', 'envelope-sender'],
    ]);
    expect(spfOf(report, 'bounces.acme-mail.test')).toMatchObject({
      authorised: false,
      ips: [{ ip: RELAY_IP, result: 'fail', mechanism: '-all' }],
    });
  });

  it('reports a DKIM record that publishes another key as not matching', async () => {
    const { domainId, key } = await onboard();
    dns.set(key.dnsRecord.name, 'TXT', [
      'v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAnotthekey',
    ]);

    const report = await dnsCheck(domainId);

    expect(report.dkim.keys).toEqual([
      expect.objectContaining({ keyId: key.id, published: true, matches: false }),
    ]);
    expect(report.status).toBe('errors');
    expect(report.advice).toEqual(
      expect.arrayContaining([expect.stringContaining(`replace it with TXT ${key.dnsRecord.name}`)]),
    );
  });
});

let messageCount = 0;

function message(tenantId: string, mailFrom: string, createdAt: Date): Partial<MessageDocument> {
  return {
    _id: `msg_dns_${++messageCount}`,
    tenantId,
    envelope: { mailFrom, rcptTo: ['to@example.net'] },
    state: 'delivered',
    createdAt,
    updatedAt: createdAt,
  };
}
