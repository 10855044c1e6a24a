import { FakeDns } from './fake-dns.spec-support';
import { checkSpf, suggestedRecord } from './spf-check';

const settings = { sendingIps: ['192.0.2.10', '2001:db8:1::10'], spfInclude: '_spf.relay.test' };
const relayZone = { '_spf.relay.test': { TXT: ['v=spf1 ip4:192.0.2.0/24 ip6:2001:db8:1::/48 -all'] } };

describe('SPF domain check', () => {
  it('is ok when the record includes the relay', async () => {
    const dns = new FakeDns({
      ...relayZone,
      'example.test': { TXT: ['v=spf1 include:_spf.relay.test -all'] },
    });
    const report = await checkSpf(dns, 'example.test', 'domain', settings);
    expect(report).toMatchObject({ recordStatus: 'found', authorised: true, status: 'ok', advice: [] });
    expect(report.ips.map((ip) => ip.result)).toEqual(['pass', 'pass']);
  });

  it('advises the include and ~all when a -all record leaves the relay out', async () => {
    const dns = new FakeDns({ ...relayZone, 'example.test': { TXT: ['v=spf1 mx -all'] } });
    const report = await checkSpf(dns, 'example.test', 'domain', settings);
    expect(report).toMatchObject({ authorised: false, status: 'errors' });
    expect(report.ips.map((ip) => ip.result)).toEqual(['fail', 'fail']);
    expect(report.advice).toEqual([
      expect.stringContaining('add include:_spf.relay.test, e.g. "v=spf1 mx include:_spf.relay.test -all"'),
      expect.stringContaining('ends in -all'),
    ]);
  });

  it('advises ip4/ip6 mechanisms without SER_RELAY_SPF_INCLUDE', async () => {
    const dns = new FakeDns({ 'example.test': { TXT: ['v=spf1 ~all'] } });
    const report = await checkSpf(dns, 'example.test', 'envelope-sender', {
      sendingIps: settings.sendingIps,
    });
    expect(report).toMatchObject({ source: 'envelope-sender', status: 'warnings' });
    expect(report.advice).toEqual([expect.stringContaining('add ip4:192.0.2.10 ip6:2001:db8:1::10')]);
  });

  it('cannot tell without sending IPs', async () => {
    const dns = new FakeDns({ 'example.test': { TXT: ['v=spf1 ~all'] } });
    const report = await checkSpf(dns, 'example.test', 'domain', { sendingIps: [] });
    expect(report).toMatchObject({ authorised: null, ips: [], status: 'warnings' });
    expect(report.advice[0]).toContain('configure SER_RELAY_SENDING_IPS');
  });

  it('reports two records as a permerror', async () => {
    const dns = new FakeDns({ 'example.test': { TXT: ['v=spf1 ~all', 'v=spf1 -all'] } });
    const report = await checkSpf(dns, 'example.test', 'domain', settings);
    expect(report).toMatchObject({ recordStatus: 'permerror', record: null, status: 'errors' });
  });

  it('suggests a record: new mechanisms before the all or redirect', () => {
    expect(suggestedRecord(null, ['include:r.test'])).toBe('v=spf1 include:r.test ~all');
    expect(suggestedRecord('v=spf1 a ~all', ['include:r.test'])).toBe('v=spf1 a include:r.test ~all');
    expect(suggestedRecord('v=spf1 a redirect=x.test', ['ip4:192.0.2.1'])).toBe(
      'v=spf1 a ip4:192.0.2.1 redirect=x.test',
    );
    expect(suggestedRecord('v=spf1 a', ['ip4:192.0.2.1'])).toBe('v=spf1 a ip4:192.0.2.1');
  });
});
