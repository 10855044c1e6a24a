import { Readable } from 'node:stream';
import { inspectEightBit, needsSmtpUtf8 } from './eight-bit';

const inspect = (chunks: string[]) =>
  inspectEightBit(Readable.from(chunks.map((c) => Buffer.from(c, 'utf8'))));

describe('inspectEightBit', () => {
  it('finds 8-bit bytes in the header or the body', async () => {
    expect(await inspect(['Subject: hi\r\n\r\nplain\r\n'])).toEqual({ header: false, body: false });
    expect(await inspect(['Subject: café\r\n\r\nplain\r\n'])).toEqual({ header: true, body: false });
    expect(await inspect(['Subject: hi\r\n\r\ncafé\r\n'])).toEqual({ header: false, body: true });
  });

  it('finds the end of the header across chunks', async () => {
    expect(await inspect(['Subject: hi\r\n\r', '\ncafé'])).toEqual({ header: false, body: true });
    expect(await inspect(['Subject: hi\r\n', '\r\n', 'x', 'é'])).toEqual({ header: false, body: true });
    expect(await inspect(['Subject: é', '\r\n\r\nplain'])).toEqual({ header: true, body: false });
  });
});

describe('needsSmtpUtf8', () => {
  it('is true for a non-ASCII address only', () => {
    expect(needsSmtpUtf8(['a@b.test', 'jörg@b.test'])).toBe(true);
    expect(needsSmtpUtf8(['a@xn--bcher-kva.test'])).toBe(false);
  });
});
