import { addressPatternProblem, allowedSourceIps, limits } from './application-settings';

describe('addressPatternProblem', () => {
  it.each([
    'alerts-*@acme.test',
    '*@acme.test',
    'billing@mail.acme.test',
    'a.b+*@acme.test',
    '*x*y*@acme.test',
  ])('accepts %s', (pattern) => {
    expect(addressPatternProblem(pattern)).toBeUndefined();
  });

  it.each([
    ['alerts@*.acme.test', '* is allowed in the local part only'],
    ['*@*', '* is allowed in the local part only'],
    ['alerts.acme.test', 'must contain exactly one @'],
    ['a@b@acme.test', 'must contain exactly one @'],
    ['alerts@acme', 'the domain part is not a valid domain name'],
    ['alerts@-acme.test', 'the domain part is not a valid domain name'],
    ['alerts@', 'the domain part is not a valid domain name'],
    ['@acme.test', 'the local part must be 1 to 64 characters'],
    [`${'a'.repeat(65)}@acme.test`, 'the local part must be 1 to 64 characters'],
    ['.alerts@acme.test', expect.stringContaining('single inner dots')],
    ['a..b@acme.test', expect.stringContaining('single inner dots')],
    ['"a b"@acme.test', expect.stringContaining('only letters')],
    [
      `${'a'.repeat(10)}@${['b', 'c', 'd', 'e'].map((l) => l.repeat(61)).join('.')}.test`,
      'must be at most 254 characters',
    ],
  ])('refuses %s', (pattern, problem) => {
    expect(addressPatternProblem(pattern)).toEqual(problem);
  });
});

describe('allowedSourceIps', () => {
  it('accepts addresses and CIDR blocks of both families, trimmed', () => {
    expect(allowedSourceIps.parse([' 192.0.2.1', '10.0.0.0/8', '2001:db8::/32', '::1'])).toEqual([
      '192.0.2.1',
      '10.0.0.0/8',
      '2001:db8::/32',
      '::1',
    ]);
  });

  it.each(['10.0.0.0/33', '2001:db8::/129', '10.0.0', 'example.test', '10.0.0.0/8/1', '10.0.0.0/'])(
    'refuses %s',
    (entry) => {
      const result = allowedSourceIps.safeParse([entry]);
      expect(result.error?.issues.map((i) => i.message)).toEqual(['not an IP address or CIDR block']);
    },
  );

  it('refuses more than 100 entries', () => {
    const many = Array.from({ length: 101 }, (_, i) => `10.0.${i}.0/24`);
    expect(allowedSourceIps.safeParse(many).success).toBe(false);
    expect(allowedSourceIps.safeParse(many.slice(1)).success).toBe(true);
  });
});

describe('limits', () => {
  it('accepts positive integers up to each maximum', () => {
    const max = {
      messagesPerMinute: 1_000_000,
      messagesPerDay: 100_000_000,
      recipientsPerDay: 1_000_000_000,
    };
    expect(limits.parse({ ...max, maxConnections: 10_000 })).toEqual({ ...max, maxConnections: 10_000 });
  });

  it.each([
    { messagesPerMinute: 0 },
    { messagesPerDay: -5 },
    { recipientsPerDay: 1.5 },
    { maxConnections: 10_001 },
  ])('refuses %j', (value) => {
    expect(limits.safeParse(value).success).toBe(false);
  });
});
