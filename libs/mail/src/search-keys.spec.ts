import { createHash } from 'node:crypto';
import { decodeEncodedWords, normaliseSubject, senderKeys, subjectHash } from './search-keys';

const sha256 = (s: string) => createHash('sha256').update(s, 'utf8').digest('hex');

describe('decodeEncodedWords', () => {
  it('decodes B and Q words, in any case, and leaves plain text alone', () => {
    expect(decodeEncodedWords('=?UTF-8?B?Y2Fmw6k=?= ouvert')).toBe('café ouvert');
    expect(decodeEncodedWords('Re: =?utf-8?q?caf=C3=A9_cr=C3=A8me?=')).toBe('Re: café crème');
    expect(decodeEncodedWords('=?iso-8859-1?Q?Gr=FC=DFe?=')).toBe('Grüße');
    expect(decodeEncodedWords('Invoice 42 = paid?')).toBe('Invoice 42 = paid?');
  });

  it('drops whitespace between adjacent words and joins a character split across them', () => {
    expect(decodeEncodedWords('=?utf-8?q?a?= \t =?utf-8?q?b?= c')).toBe('ab c');
    // "é" is C3 A9: its two bytes in two words.
    expect(decodeEncodedWords('=?utf-8?q?caf=C3?= =?utf-8?q?=A9?=')).toBe('café');
    expect(decodeEncodedWords('=?utf-8*en?q?hi?=')).toBe('hi');
  });

  it('keeps a word in an unknown charset as sent', () => {
    expect(decodeEncodedWords('=?x-nonsense?q?abc?= ok')).toBe('=?x-nonsense?q?abc?= ok');
  });
});

describe('normaliseSubject and subjectHash', () => {
  it('collapses whitespace runs, trims and composes to NFC, keeping case', () => {
    expect(normaliseSubject('  Invoice\t 42 \u00a0 paid ')).toBe('Invoice 42 paid');
    expect(normaliseSubject('Cafe\u0301')).toBe('Caf\u00e9');
    expect(normaliseSubject('INVOICE')).not.toBe(normaliseSubject('invoice'));
  });

  it('hashes the normalised subject as lowercase SHA-256 hex', () => {
    expect(subjectHash('Invoice 42')).toBe(sha256('Invoice 42'));
    expect(subjectHash('  Invoice   42\t')).toBe(sha256('Invoice 42'));
    expect(subjectHash('=?utf-8?q?Caf=C3=A9_ouvert?=')).toBe(subjectHash('Cafe\u0301  ouvert'));
    expect(subjectHash('x')).toMatch(/^[0-9a-f]{64}$/);
  });
});

describe('senderKeys', () => {
  it('lowercases header From and MAIL FROM, without duplicates', () => {
    expect(senderKeys('Alice@Example.com', 'Bounce@Mail.Example.com')).toEqual([
      'alice@example.com',
      'bounce@mail.example.com',
    ]);
    expect(senderKeys('Alice@Example.com', 'alice@example.COM')).toEqual(['alice@example.com']);
  });

  it('leaves out the null reverse-path', () => {
    expect(senderKeys('alerts@acme.test', '')).toEqual(['alerts@acme.test']);
    expect(senderKeys('alerts@acme.test', '<>')).toEqual(['alerts@acme.test']);
  });
});
