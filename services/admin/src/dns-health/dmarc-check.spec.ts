import { checkDmarc, organisationalDomain, parseDmarcRecord } from './dmarc-check';
import { FakeDns } from './fake-dns.spec-support';

describe('DMARC', () => {
  it('parses p, sp, pct and rua', () => {
    expect(
      parseDmarcRecord('v=DMARC1; p=quarantine; sp=reject; pct=50; rua=mailto:a@x.test, mailto:b@x.test'),
    ).toEqual({
      ok: true,
      record: {
        policy: 'quarantine',
        subdomainPolicy: 'reject',
        pct: 50,
        rua: ['mailto:a@x.test', 'mailto:b@x.test'],
      },
    });
    expect(parseDmarcRecord('v=DMARC1; p=none')).toEqual({
      ok: true,
      record: { policy: 'none', pct: 100, rua: [] },
    });
    expect(parseDmarcRecord('p=none; v=DMARC1').ok).toBe(false);
    expect(parseDmarcRecord('v=DMARC1; p=block').ok).toBe(false);
    expect(parseDmarcRecord('v=DMARC1; p=none; pct=101').ok).toBe(false);
  });

  it('finds the organisational domain with the Public Suffix List', () => {
    expect(organisationalDomain('mail.example.co.uk')).toBe('example.co.uk');
    expect(organisationalDomain('a.b.example.com')).toBe('example.com');
    expect(organisationalDomain('example.com')).toBe('example.com');
  });

  it('reports a missing record with the record to publish', async () => {
    const report = await checkDmarc(new FakeDns({}), 'example.com');
    expect(report).toMatchObject({ present: false, name: '_dmarc.example.com', status: 'warnings' });
    expect(report.advice[0]).toContain(
      'publish TXT "v=DMARC1; p=none; rua=mailto:dmarc-reports@example.com"',
    );
  });

  it("falls back to the organisational domain's record and its sp=", async () => {
    const dns = new FakeDns({
      '_dmarc.example.co.uk': { TXT: ['v=DMARC1; p=reject; sp=none; rua=mailto:d@example.co.uk'] },
    });
    const report = await checkDmarc(dns, 'mail.example.co.uk');
    expect(report).toMatchObject({
      present: true,
      inherited: true,
      name: '_dmarc.example.co.uk',
      policy: 'reject',
      subdomainPolicy: 'none',
      pct: 100,
      rua: ['mailto:d@example.co.uk'],
      status: 'warnings',
    });
    expect(report.advice).toEqual([expect.stringContaining('p=none (monitoring only)')]);
  });

  it('is ok with an enforcing policy and reports; warns about p=none and a missing rua', async () => {
    const dns = new FakeDns({
      '_dmarc.good.test': { TXT: ['v=DMARC1; p=reject; rua=mailto:d@good.test'] },
      '_dmarc.weak.test': { TXT: ['v=DMARC1; p=none'] },
    });
    expect(await checkDmarc(dns, 'good.test')).toMatchObject({ status: 'ok', advice: [] });
    expect((await checkDmarc(dns, 'weak.test')).advice).toHaveLength(2);
  });

  it('treats two records as an error and a failing server as a warning', async () => {
    const dns = new FakeDns({
      '_dmarc.two.test': { TXT: ['v=DMARC1; p=none', 'v=DMARC1; p=reject'] },
      '_dmarc.down.test': 'SERVFAIL',
    });
    expect((await checkDmarc(dns, 'two.test')).status).toBe('errors');
    expect((await checkDmarc(dns, 'down.test')).status).toBe('warnings');
  });
});
