import {
  ClamdUnavailableError,
  frameInstreamChunk,
  INSTREAM_CHUNK_BYTES,
  parseClamdReply,
} from './clamd-session';

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
    expect(() => parseClamdReply('stream: OK and more')).toThrow(ClamdUnavailableError);
  });

  it('accepts the request number that prefixes replies inside a session', () => {
    expect(parseClamdReply('1: stream: OK\0')).toEqual({ result: 'clean' });
    expect(parseClamdReply('12: stream: Eicar-Test-Signature.UNOFFICIAL FOUND\0', 12)).toEqual({
      result: 'infected',
      signature: 'Eicar-Test-Signature.UNOFFICIAL',
    });
  });

  it('refuses a session reply to another request, or one without a number when one was sent', () => {
    expect(() => parseClamdReply('3: stream: OK', 2)).toThrow(/not for request 2/);
    expect(() => parseClamdReply('stream: OK', 1)).toThrow(ClamdUnavailableError);
  });

  it('treats an error inside a session as "clamd unavailable"', () => {
    expect(() => parseClamdReply('4: INSTREAM size limit exceeded. ERROR\0', 4)).toThrow(
      /unexpected clamd reply: INSTREAM size limit exceeded\. ERROR/,
    );
  });
});

describe('frameInstreamChunk', () => {
  it('prefixes the data with its length, 4 bytes big-endian', () => {
    const frames = frameInstreamChunk(Buffer.from('hello'));
    expect(Buffer.concat(frames)).toEqual(Buffer.from([0, 0, 0, 5, ...Buffer.from('hello')]));
  });

  it('splits data longer than the chunk size, losing nothing', () => {
    const data = Buffer.alloc(2 * INSTREAM_CHUNK_BYTES + 10, 7);
    const frames = frameInstreamChunk(data);
    const lengths = frames.filter((_, i) => i % 2 === 0).map((header) => header.readUInt32BE(0));
    expect(lengths).toEqual([INSTREAM_CHUNK_BYTES, INSTREAM_CHUNK_BYTES, 10]);
    expect(Buffer.concat(frames.filter((_, i) => i % 2 === 1)).equals(data)).toBe(true);
  });

  it('honours a smaller chunk size', () => {
    expect(frameInstreamChunk(Buffer.from('abcde'), 2).map((f) => f.toString('latin1'))).toEqual([
      '\0\0\0\x02',
      'ab',
      '\0\0\0\x02',
      'cd',
      '\0\0\0\x01',
      'e',
    ]);
  });

  it('yields nothing for empty data, since a zero-length chunk would end the stream', () => {
    expect(frameInstreamChunk(Buffer.alloc(0))).toEqual([]);
  });
});
