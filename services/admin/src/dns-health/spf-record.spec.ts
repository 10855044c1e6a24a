import { parseSpfRecord, selectSpfRecord } from './spf-record';

describe('SPF record', () => {
  it('selects the one v=spf1 record among the TXT records', () => {
    expect(selectSpfRecord(['google-site-verification=x', 'v=spf1 -all'])).toEqual({
      status: 'found',
      text: 'v=spf1 -all',
    });
    expect(selectSpfRecord(['v=spf10 -all', 'spf1'])).toEqual({ status: 'none' });
    expect(selectSpfRecord(['v=spf1 -all', 'V=SPF1 ~all'])).toMatchObject({ status: 'permerror' });
  });

  it('parses every mechanism with its qualifier, CIDR lengths and modifiers', () => {
    const parsed = parseSpfRecord(
      'v=spf1 ip4:192.0.2.0/24 -ip6:2001:db8::/32 ~a a:mail.example/28//64 mx//48 ' +
        '?include:_spf.example exists:%{i}._e.example ptr redirect=_spf.other exp=explain.example x-foo=bar',
    );
    expect(parsed.ok).toBe(true);
    if (!parsed.ok) {
      return;
    }
    expect(parsed.record.redirect).toBe('_spf.other');
    expect(parsed.record.mechanisms).toEqual([
      { qualifier: '+', term: 'ip4:192.0.2.0/24', kind: 'ip4', address: '192.0.2.0', prefix: 24 },
      { qualifier: '-', term: '-ip6:2001:db8::/32', kind: 'ip6', address: '2001:db8::', prefix: 32 },
      { qualifier: '~', term: '~a', kind: 'a', cidr4: 32, cidr6: 128 },
      {
        qualifier: '+',
        term: 'a:mail.example/28//64',
        kind: 'a',
        domain: 'mail.example',
        cidr4: 28,
        cidr6: 64,
      },
      { qualifier: '+', term: 'mx//48', kind: 'mx', cidr4: 32, cidr6: 48 },
      { qualifier: '?', term: '?include:_spf.example', kind: 'include', domain: '_spf.example' },
      { qualifier: '+', term: 'exists:%{i}._e.example', kind: 'exists', domain: '%{i}._e.example' },
      { qualifier: '+', term: 'ptr', kind: 'ptr' },
    ]);
  });

  it.each([
    ['an unknown mechanism', 'v=spf1 foo -all'],
    ['a bad IPv4 address', 'v=spf1 ip4:192.0.2 -all'],
    ['an IPv4 prefix above 32', 'v=spf1 ip4:192.0.2.0/33 -all'],
    ['an IPv6 prefix above 128', 'v=spf1 ip6:2001:db8::/129 -all'],
    ['include without a domain', 'v=spf1 include -all'],
    ['two redirects', 'v=spf1 redirect=a.example redirect=b.example'],
    ['a bad macro', 'v=spf1 include:%{z}.example -all'],
    ['all with an argument', 'v=spf1 all:x'],
  ])('rejects %s', (_what, record) => {
    expect(parseSpfRecord(record).ok).toBe(false);
  });
});
