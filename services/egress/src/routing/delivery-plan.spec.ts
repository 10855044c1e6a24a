import type { SmarthostRoute } from '@ser/data';
import { domainMatches, routeFor, sourceAddressFor, stricter, tlsPolicyFor } from './delivery-plan';

const route = (host: string, domains?: string[]): SmarthostRoute => ({
  host,
  port: 25,
  tls: 'require',
  ...(domains === undefined ? {} : { domains }),
});

describe('domainMatches', () => {
  it('matches exact names, and subdomains only with a leading dot', () => {
    expect(domainMatches('acme.test', 'ACME.test')).toBe(true);
    expect(domainMatches('acme.test', 'eu.acme.test')).toBe(false);
    expect(domainMatches('.acme.test', 'eu.acme.test')).toBe(true);
    expect(domainMatches('.acme.test', 'acme.test')).toBe(true);
    expect(domainMatches('.acme.test', 'notacme.test')).toBe(false);
  });
});

describe('routeFor', () => {
  it('takes the first matching route; one without domains takes everything', () => {
    const routes = [route('inbound.acme.test', ['acme.test', '.acme.test']), route('gateway.acme.test')];
    expect(routeFor(routes, 'eu.acme.test')?.host).toBe('inbound.acme.test');
    expect(routeFor(routes, 'customer.test')?.host).toBe('gateway.acme.test');
    expect(routeFor([route('inbound.acme.test', ['acme.test'])], 'customer.test')).toBeUndefined();
    expect(routeFor(undefined, 'customer.test')).toBeUndefined();
  });
});

describe('tlsPolicyFor', () => {
  const policies = { 'bank.test': 'verify', '.partner.test': 'require', '.eu.partner.test': 'none' } as const;
  it('prefers an exact entry, then the longest suffix, else opportunistic', () => {
    expect(tlsPolicyFor(policies, 'bank.test')).toBe('verify');
    expect(tlsPolicyFor(policies, 'mail.bank.test')).toBe('opportunistic');
    expect(tlsPolicyFor(policies, 'x.partner.test')).toBe('require');
    expect(tlsPolicyFor(policies, 'x.eu.partner.test')).toBe('none');
  });

  it('lets the stricter policy win', () => {
    expect(stricter('opportunistic', 'verify')).toBe('verify');
    expect(stricter('require', 'opportunistic')).toBe('require');
  });
});

describe('sourceAddressFor', () => {
  const pool = ['192.0.2.1', '192.0.2.2', '2001:db8::1'];
  it('picks an address of the target family, the same one for the same message', () => {
    const first = sourceAddressFor(pool, '198.51.100.7', 'msg_1');
    expect(['192.0.2.1', '192.0.2.2']).toContain(first);
    expect(sourceAddressFor(pool, '198.51.100.9', 'msg_1')).toBe(first);
    expect(sourceAddressFor(pool, '2001:db8::25', 'msg_1')).toBe('2001:db8::1');
    const picks = new Set(
      Array.from({ length: 50 }, (_, i) => sourceAddressFor(pool, '198.51.100.7', `m${i}`)),
    );
    expect(picks.size).toBe(2);
  });

  it('binds nothing without a pool, and refuses a family the pool lacks', () => {
    expect(sourceAddressFor([], '198.51.100.7', 'm')).toBeUndefined();
    expect(sourceAddressFor(['192.0.2.1'], '2001:db8::25', 'm')).toBeNull();
  });
});
