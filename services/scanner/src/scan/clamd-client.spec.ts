import { ClamdUnavailableError, parseClamdReply } from './clamd-client';

describe('parseClamdReply', () => {
  it('reads a clean reply', () => {
    expect(parseClamdReply('stream: OK\0')).toEqual({ result: 'clean' });
  });

  it('reads the signature name of an infected reply', () => {
    expect(parseClamdReply('stream: Eicar-Test-Signature FOUND')).toEqual({
      result: 'infected',
      signature: 'Eicar-Test-Signature',
    });
  });

  it('treats errors and garbage as "clamd unavailable", never as clean', () => {
    expect(() => parseClamdReply('INSTREAM size limit exceeded. ERROR')).toThrow(ClamdUnavailableError);
    expect(() => parseClamdReply('')).toThrow(ClamdUnavailableError);
  });
});
