import { orderByPreference, toAsciiDomain } from './mx-resolver';

describe('orderByPreference', () => {
  const records = [
    { exchange: 'c', priority: 20 },
    { exchange: 'a1', priority: 10 },
    { exchange: 'z', priority: 30 },
    { exchange: 'a2', priority: 10 },
  ];

  it('puts the lowest preference first', () => {
    expect(orderByPreference(records).map((r) => r.priority)).toEqual([10, 10, 20, 30]);
  });

  it('orders equal preferences by the random draw, so both orders occur', () => {
    const ascending = sequence([0.1, 0.2, 0.3, 0.4]);
    const descending = sequence([0.4, 0.3, 0.2, 0.1]);
    expect(orderByPreference(records, ascending).map((r) => r.exchange)).toEqual(['a1', 'a2', 'c', 'z']);
    expect(orderByPreference(records, descending).map((r) => r.exchange)).toEqual(['a2', 'a1', 'c', 'z']);
  });

  it('leaves its input untouched', () => {
    const copy = [...records];
    orderByPreference(records);
    expect(records).toEqual(copy);
  });

  function sequence(values: number[]): () => number {
    let next = 0;
    return () => values[next++ % values.length] ?? 0;
  }
});

describe('toAsciiDomain', () => {
  it.each([
    ['example.com', 'example.com'],
    ['Example.COM.', 'example.com'],
    ['bücher.test', 'xn--bcher-kva.test'],
    ['BÜCHER.test', 'xn--bcher-kva.test'],
    ['münchen.de', 'xn--mnchen-3ya.de'],
    ['mail_relay.example', 'mail_relay.example'],
  ])('maps %s to %s', (domain, ascii) => {
    expect(toAsciiDomain(domain)).toBe(ascii);
  });

  it.each([
    '',
    '.',
    'a..b',
    '-leading.test',
    'ex ample.com',
    'a/b',
    'user@example.com',
    'example.com:25',
    'xn--zz.test',
    `${'a'.repeat(64)}.test`,
    `${'a.'.repeat(127)}test`,
  ])('rejects %j', (domain) => {
    expect(toAsciiDomain(domain)).toBeUndefined();
  });
});
