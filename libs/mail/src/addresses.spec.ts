import { domainOf, isDeliverableAddress, parseMailboxList } from './addresses';

describe('parseMailboxList', () => {
  it('returns the addresses of display-name mailboxes and groups', () => {
    expect(parseMailboxList('"Billing, Inc." <billing@Example.test>, team: a@x.test, b@y.test;')).toEqual([
      'billing@Example.test',
      'a@x.test',
      'b@y.test',
    ]);
  });

  it('returns nothing for an empty or address-less value', () => {
    expect(parseMailboxList('')).toEqual([]);
    expect(parseMailboxList('undisclosed-recipients:;')).toEqual([]);
  });
});

describe('domainOf', () => {
  it('lowercases the domain after the last @', () => {
    expect(domainOf('"a@b"@Example.TEST')).toBe('example.test');
    expect(domainOf('no-domain')).toBeUndefined();
    expect(domainOf('trailing@')).toBeUndefined();
  });
});

describe('isDeliverableAddress', () => {
  it.each([
    ['user@example.test', true],
    ['first.last+tag@sub.example.co.uk', true],
    ['user@[127.0.0.1]', false],
    ['user@localhost', false],
    ['@example.test', false],
    ['a..b@example.test', false],
    [`${'x'.repeat(65)}@example.test`, false],
  ])('%s → %s', (address, expected) => {
    expect(isDeliverableAddress(address)).toBe(expected);
  });
});
