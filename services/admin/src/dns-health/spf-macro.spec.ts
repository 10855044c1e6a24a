import { expandMacros, isValidMacroString } from './spf-macro';

describe('SPF macros (RFC 7208 §7.4 examples)', () => {
  const context = { sender: 'strong-bad@email.example.com', domain: 'email.example.com', ip: '192.0.2.3' };

  it.each([
    ['%{s}', 'strong-bad@email.example.com'],
    ['%{o}', 'email.example.com'],
    ['%{d}', 'email.example.com'],
    ['%{d4}', 'email.example.com'],
    ['%{d2}', 'example.com'],
    ['%{d1}', 'com'],
    ['%{dr}', 'com.example.email'],
    ['%{d2r}', 'example.email'],
    ['%{l}', 'strong-bad'],
    ['%{l-}', 'strong.bad'],
    ['%{lr}', 'strong-bad'],
    ['%{lr-}', 'bad.strong'],
    ['%{l1r-}', 'strong'],
    ['%{ir}.%{v}._spf.%{d2}', '3.2.0.192.in-addr._spf.example.com'],
    ['%{lr-}.lp._spf.%{d2}', 'bad.strong.lp._spf.example.com'],
    ['%%%_%-', '% %20'],
  ])('%s → %s', (spec, expected) => {
    expect(expandMacros(spec, context)).toBe(expected);
  });

  it('expands an IPv6 address to dotted nibbles', () => {
    expect(expandMacros('%{ir}.%{v}._spf.%{d2}', { ...context, ip: '2001:db8::cb01' })).toBe(
      '1.0.b.c.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6._spf.example.com',
    );
  });

  it('accepts only %%, %_, %- and %{...} after a %', () => {
    expect(isValidMacroString('_spf.%{d2}')).toBe(true);
    expect(isValidMacroString('%x.example')).toBe(false);
    expect(isValidMacroString('%{d')).toBe(false);
  });
});
