import { isAddressAllowed } from './ip-allowlist';

describe('isAddressAllowed', () => {
  it('allows every address when no list is set', () => {
    expect(isAddressAllowed('203.0.113.9', undefined)).toBe(true);
    expect(isAddressAllowed('203.0.113.9', [])).toBe(true);
  });

  it('matches IPv4 addresses and blocks', () => {
    const list = ['192.0.2.0/24', '198.51.100.7'];
    expect(isAddressAllowed('192.0.2.200', list)).toBe(true);
    expect(isAddressAllowed('198.51.100.7', list)).toBe(true);
    expect(isAddressAllowed('198.51.100.8', list)).toBe(false);
    expect(isAddressAllowed('192.0.3.1', list)).toBe(false);
  });

  it('matches IPv6 blocks and treats an IPv4-mapped address as IPv4', () => {
    expect(isAddressAllowed('2001:db8::1', ['2001:db8::/32'])).toBe(true);
    expect(isAddressAllowed('2001:db9::1', ['2001:db8::/32'])).toBe(false);
    expect(isAddressAllowed('::ffff:192.0.2.5', ['192.0.2.0/24'])).toBe(true);
    expect(isAddressAllowed('::ffff:192.0.2.5', ['2001:db8::/32'])).toBe(false);
  });

  it('lets an unparsable entry allow nothing', () => {
    expect(isAddressAllowed('192.0.2.1', ['not-an-ip'])).toBe(false);
    expect(isAddressAllowed('garbage', ['192.0.2.0/24'])).toBe(false);
  });
});
