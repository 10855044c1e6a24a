import { Readable } from 'node:stream';
import { SmtpLineNormalizer } from './line-normalizer';

async function normalize(chunks: string[]): Promise<string> {
  const out: Buffer[] = [];
  for await (const chunk of Readable.from(chunks.map((c) => Buffer.from(c, 'latin1'))).pipe(
    new SmtpLineNormalizer(),
  )) {
    out.push(chunk as Buffer);
  }
  return Buffer.concat(out).toString('latin1');
}

describe('SmtpLineNormalizer', () => {
  it('leaves CRLF text as it is', async () => {
    expect(await normalize(['a: b\r\n\r\nbody\r\n.dot\r\n'])).toBe('a: b\r\n\r\nbody\r\n.dot\r\n');
  });

  it('turns bare LF and bare CR into CRLF, so no smuggled end of data survives', async () => {
    expect(await normalize(['x\n.\r\nMAIL FROM:<a@b>\r\n'])).toBe('x\r\n.\r\nMAIL FROM:<a@b>\r\n');
    expect(await normalize(['x\r.\rRCPT'])).toBe('x\r\n.\r\nRCPT');
    expect(await normalize(['\n\r'])).toBe('\r\n\r\n');
  });

  it('keeps a CRLF split across chunks as one line end', async () => {
    expect(await normalize(['line\r', '\nnext\r', 'x', '\r'])).toBe('line\r\nnext\r\nx\r\n');
    expect(await normalize(['a\r', '\r', '\n'])).toBe('a\r\n\r\n');
  });

  it('keeps 8-bit bytes', async () => {
    expect(await normalize(['caf\u00e9\n'])).toBe('caf\u00e9\r\n');
  });
});
