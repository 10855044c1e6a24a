import { ipLiteralOf, isPublicAddress } from './address-policy';

describe('isPublicAddress', () => {
  it.each([
    '0.0.0.0',
    '0.1.2.3',
    '10.0.0.1',
    '100.64.0.1',
    '100.127.255.254',
    '127.0.0.1',
    '127.255.255.255',
    '169.254.169.254',
    '172.16.0.1',
    '172.31.255.255',
    '192.168.1.1',
    '192.0.2.10',
    '198.51.100.7',
    '203.0.113.9',
    '198.18.0.1',
    '224.0.0.1',
    '239.255.255.250',
    '240.0.0.1',
    '255.255.255.255',
    '::',
    '::1',
    '::10.0.0.1',
    '::ffff:10.0.0.1',
    '::ffff:127.0.0.1',
    '::ffff:a00:1',
    '::ffff:169.254.169.254',
    '64:ff9b::10.0.0.1',
    '64:ff9b::a9fe:a9fe',
    'fc00::1',
    'fd12:3456::1',
    'fe80::1',
    'febf::1',
    'fe80::1%eth0',
    'ff02::1',
    '2001:db8::1',
    '100::1',
  ])('refuses %s', (ip) => {
    expect(isPublicAddress(ip)).toBe(false);
  });

  it.each([
    '1.1.1.1',
    '8.8.8.8',
    '93.184.216.34',
    '100.63.255.255',
    '100.128.0.1',
    '172.15.255.255',
    '172.32.0.1',
    '169.253.0.1',
    '223.255.255.255',
    '2606:4700:4700::1111',
    '2a00:1450:4001:80b::200e',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '64:ff9b::8.8.8.8',
  ])('accepts %s', (ip) => {
    expect(isPublicAddress(ip)).toBe(true);
  });

  it.each(['', 'localhost', 'example.com', '10.0.0', '256.1.1.1', '[127.0.0.1]'])(
    'refuses %j, which is not an IP address',
    (value) => {
      expect(isPublicAddress(value)).toBe(false);
    },
  );
});

describe('ipLiteralOf', () => {
  it.each([
    ['[192.0.2.1]', '192.0.2.1'],
    [' [10.0.0.1] ', '10.0.0.1'],
    ['[IPv6:2001:db8::1]', '2001:db8::1'],
    ['[ipv6:2001:DB8::A]', '2001:db8::a'],
    ['[IPv6:::ffff:10.0.0.1]', '::ffff:10.0.0.1'],
  ])('reads %j as %s', (domain, ip) => {
    expect(ipLiteralOf(domain)).toBe(ip);
  });

  it.each([
    'example.com',
    '192.0.2.1',
    '[]',
    '[192.0.2]',
    '[192.0.2.256]',
    '[2001:db8::1]',
    '[IPv6:192.0.2.1]',
    '[IPv6:fe80::1%eth0]',
    '[x400:foo]',
    '[192.0.2.1',
  ])('rejects %j', (domain) => {
    expect(ipLiteralOf(domain)).toBeUndefined();
  });
});
