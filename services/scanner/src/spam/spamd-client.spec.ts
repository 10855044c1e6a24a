import { parseSpamdReply, SpamdUnavailableError } from './spamd-client';

describe('parseSpamdReply', () => {
  it('reads the verdict, score, threshold and rules of a SYMBOLS reply', () => {
    const reply =
      'SPAMD/1.1 0 EX_OK\r\nContent-length: 27\r\nSpam: True ; 1000.0 / 5.0\r\n\r\nGTUBE,MISSING_DATE,NO_RECEIVED';
    expect(parseSpamdReply(reply)).toEqual({
      spam: true,
      score: 1000,
      threshold: 5,
      rules: ['GTUBE', 'MISSING_DATE', 'NO_RECEIVED'],
    });
  });

  it('reads a clean verdict with a negative score and no rules', () => {
    expect(parseSpamdReply('SPAMD/1.1 0 EX_OK\r\nSpam: False ; -0.5 / 5.0\r\n\r\n')).toEqual({
      spam: false,
      score: -0.5,
      threshold: 5,
      rules: [],
    });
  });

  it('treats an error status, a missing Spam header or garbage as unavailable, never as clean', () => {
    for (const reply of [
      'SPAMD/1.0 76 Bad header line: (EOF)\r\n\r\n',
      'SPAMD/1.1 0 EX_OK\r\nContent-length: 0\r\n\r\n',
      'HTTP/1.1 200 OK\r\n\r\n',
      '',
    ]) {
      expect(() => parseSpamdReply(reply)).toThrow(SpamdUnavailableError);
    }
  });
});
