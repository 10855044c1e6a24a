import { FakeDns } from './fake-dns.spec-support';
import { evaluateSpf } from './spf-evaluator';

const RELAY = '192.0.2.10';
const RELAY6 = '2001:db8:1::10';

describe('SPF evaluation (RFC 7208 check_host)', () => {
  it.each([
    ['v=spf1 ip4:192.0.2.0/24 -all', 'pass', 'ip4:192.0.2.0/24'],
    ['v=spf1 ip4:198.51.100.1 -all', 'fail', '-all'],
    ['v=spf1 ip4:198.51.100.1 ~all', 'softfail', '~all'],
    ['v=spf1 ip4:198.51.100.1 ?all', 'neutral', '?all'],
    ['v=spf1 -ip4:192.0.2.10 +all', 'fail', '-ip4:192.0.2.10'],
    ['v=spf1 ip4:198.51.100.1', 'neutral', undefined],
  ])('%s → %s', async (record, result, mechanism) => {
    const dns = new FakeDns({ 'example.test': { TXT: [record] } });
    const evaluation = await evaluateSpf(dns, RELAY, 'example.test');
    expect(evaluation.result).toBe(result);
    expect(evaluation.mechanism).toBe(mechanism);
  });

  it('matches IPv6 networks only for IPv6 addresses, and mapped IPv4 as IPv4', async () => {
    const dns = new FakeDns({ 'example.test': { TXT: ['v=spf1 ip6:2001:db8:1::/48 ip4:192.0.2.10 -all'] } });
    expect((await evaluateSpf(dns, RELAY6, 'example.test')).result).toBe('pass');
    expect((await evaluateSpf(dns, '2001:db8:2::1', 'example.test')).result).toBe('fail');
    expect((await evaluateSpf(dns, '::ffff:192.0.2.10', 'example.test')).result).toBe('pass');
  });

  it('passes through an include that passes, and goes on when it does not', async () => {
    const dns = new FakeDns({
      'example.test': { TXT: ['v=spf1 include:_spf.other.test include:_spf.relay.test -all'] },
      '_spf.other.test': { TXT: ['v=spf1 ip4:198.51.100.0/24 -all'] },
      '_spf.relay.test': { TXT: ['v=spf1 ip4:192.0.2.0/28 ip6:2001:db8:1::/64 -all'] },
    });
    expect(await evaluateSpf(dns, RELAY, 'example.test')).toEqual({
      result: 'pass',
      mechanism: 'include:_spf.relay.test',
      domain: 'example.test',
    });
    expect((await evaluateSpf(dns, '203.0.113.1', 'example.test')).result).toBe('fail');
  });

  it('matches a and mx with their CIDR lengths', async () => {
    const dns = new FakeDns({
      'example.test': {
        TXT: ['v=spf1 a:web.example.test/24 mx -all'],
        MX: [{ exchange: 'mx.example.test', priority: 10 }],
      },
      'web.example.test': { A: ['192.0.2.200'] },
      'mx.example.test': { A: ['198.51.100.7'], AAAA: ['2001:db8:1::10'] },
    });
    expect((await evaluateSpf(dns, RELAY, 'example.test')).mechanism).toBe('a:web.example.test/24');
    expect((await evaluateSpf(dns, '198.51.100.7', 'example.test')).mechanism).toBe('mx');
    expect((await evaluateSpf(dns, RELAY6, 'example.test')).mechanism).toBe('mx');
    expect((await evaluateSpf(dns, '198.51.100.8', 'example.test')).result).toBe('fail');
  });

  it('follows redirect= when nothing matched; a redirect to no record is a permerror', async () => {
    const dns = new FakeDns({
      'example.test': { TXT: ['v=spf1 ip4:198.51.100.1 redirect=_spf.example.test'] },
      '_spf.example.test': { TXT: ['v=spf1 ip4:192.0.2.10 ~all'] },
      'broken.test': { TXT: ['v=spf1 redirect=nowhere.test'] },
    });
    expect(await evaluateSpf(dns, RELAY, 'example.test')).toMatchObject({
      result: 'pass',
      domain: '_spf.example.test',
    });
    expect((await evaluateSpf(dns, '203.0.113.1', 'example.test')).result).toBe('softfail');
    expect((await evaluateSpf(dns, RELAY, 'broken.test')).result).toBe('permerror');
  });

  it('reports none without a record, permerror with two or with a syntax error', async () => {
    const dns = new FakeDns({
      'two.test': { TXT: ['v=spf1 -all', 'v=spf1 ~all'] },
      'bad.test': { TXT: ['v=spf1 ip4:300.0.0.1 -all'] },
      'other.test': { TXT: ['hello'] },
    });
    expect((await evaluateSpf(dns, RELAY, 'missing.test')).result).toBe('none');
    expect((await evaluateSpf(dns, RELAY, 'other.test')).result).toBe('none');
    expect((await evaluateSpf(dns, RELAY, 'two.test')).result).toBe('permerror');
    expect((await evaluateSpf(dns, RELAY, 'bad.test')).result).toBe('permerror');
  });

  it('is a permerror past 10 DNS lookups', async () => {
    const zone: Record<string, { TXT: string[] }> = {};
    for (let i = 0; i < 11; i++) {
      zone[`l${i}.test`] = { TXT: [`v=spf1 include:l${i + 1}.test -all`] };
    }
    zone['l11.test'] = { TXT: ['v=spf1 ip4:192.0.2.10 -all'] };
    const evaluation = await evaluateSpf(new FakeDns(zone), RELAY, 'l0.test');
    expect(evaluation).toMatchObject({ result: 'permerror', detail: 'more than 10 DNS lookups' });
  });

  it('is a permerror past 2 void lookups', async () => {
    const dns = new FakeDns({
      'example.test': { TXT: ['v=spf1 a:n1.test a:n2.test a:n3.test ip4:192.0.2.10'] },
    });
    expect(await evaluateSpf(dns, RELAY, 'example.test')).toMatchObject({
      result: 'permerror',
      detail: 'more than 2 void DNS lookups',
    });
  });

  it('makes an include with no record a permerror, a failing DNS server a temperror', async () => {
    const dns = new FakeDns({
      'example.test': { TXT: ['v=spf1 include:nowhere.test -all'] },
      'flaky.test': { TXT: ['v=spf1 include:down.test -all'] },
      'down.test': 'SERVFAIL',
    });
    expect((await evaluateSpf(dns, RELAY, 'example.test')).result).toBe('permerror');
    expect((await evaluateSpf(dns, RELAY, 'flaky.test')).result).toBe('temperror');
    expect((await evaluateSpf(dns, RELAY, 'down.test')).result).toBe('temperror');
  });

  it('reports exists and ptr as neutral, as they depend on the client', async () => {
    const dns = new FakeDns({
      'example.test': { TXT: ['v=spf1 exists:%{i}.e.example.test ip4:192.0.2.10 -all'] },
    });
    expect(await evaluateSpf(dns, RELAY, 'example.test')).toMatchObject({
      result: 'neutral',
      mechanism: 'exists:%{i}.e.example.test',
    });
  });

  it('expands macros in include targets', async () => {
    const dns = new FakeDns({
      'example.test': { TXT: ['v=spf1 include:_spf.%{d} -all'] },
      '_spf.example.test': { TXT: ['v=spf1 ip4:192.0.2.10 -all'] },
    });
    expect((await evaluateSpf(dns, RELAY, 'example.test')).result).toBe('pass');
  });
});
