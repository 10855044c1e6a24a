import { detectBulk } from './bulk-policy';

function headers(...lines: string[]): string {
  return `${lines.join('\r\n')}\r\n\r\n`;
}

const plain = ['From: billing@acme.test', 'To: customer@dest.test', 'Subject: Invoice 42'];

describe('detectBulk', () => {
  it('lets a transactional message through', () => {
    expect(detectBulk(headers(...plain), 1, 10)).toBeUndefined();
    expect(detectBulk(headers(...plain), 500, 10)).toBeUndefined();
  });

  it.each([
    ['bulk', 'Precedence: bulk'],
    ['list', 'Precedence: list'],
    ['junk', 'Precedence: junk'],
    ['  Bulk ', 'Precedence: bulk'],
    ['LIST', 'Precedence: list'],
  ])('flags Precedence %j whatever the recipient count', (value, reason) => {
    expect(detectBulk(headers(...plain, `Precedence:${value}`), 1, 10)).toBe(reason);
    expect(detectBulk(headers(...plain, `precedence: ${value}`), 1, 10)).toBe(reason);
  });

  it.each(['first-class', 'bulky', 'normal', ''])('ignores Precedence %j', (value) => {
    expect(detectBulk(headers(...plain, `Precedence: ${value}`), 100, 10)).toBeUndefined();
  });

  it('finds a bulk Precedence among several Precedence fields', () => {
    const block = headers(...plain, 'Precedence: first-class', 'Precedence: junk');
    expect(detectBulk(block, 1, 10)).toBe('Precedence: junk');
  });

  it.each([
    ['List-Unsubscribe', 'List-Unsubscribe: <https://acme.test/u/1>'],
    ['List-Id', 'List-Id: News <news.acme.test>'],
    ['List-Id', 'list-id: News <news.acme.test>'],
  ])('flags %s only above the recipient threshold', (name, field) => {
    const block = headers(...plain, field);
    expect(detectBulk(block, 10, 10)).toBeUndefined();
    expect(detectBulk(block, 11, 10)).toBe(`${name} with 11 recipients`);
    expect(detectBulk(block, 1, 0)).toBe(`${name} with 1 recipients`);
  });

  it('names List-Unsubscribe first, and Precedence before both', () => {
    const lists = [...plain, 'List-Id: <news.acme.test>', 'List-Unsubscribe: <mailto:u@acme.test>'];
    expect(detectBulk(headers(...lists), 20, 10)).toBe('List-Unsubscribe with 20 recipients');
    expect(detectBulk(headers(...lists, 'Precedence: list'), 20, 10)).toBe('Precedence: list');
  });

  it('reads folded fields and ignores the body', () => {
    expect(detectBulk(headers(...plain, 'Precedence:\r\n bulk'), 1, 10)).toBe('Precedence: bulk');
    const inBody = `${headers(...plain)}Precedence: bulk\r\nList-Id: <x.acme.test>\r\n`;
    expect(detectBulk(inBody, 100, 10)).toBeUndefined();
  });
});
