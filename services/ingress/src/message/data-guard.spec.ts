import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { SmtpDataGuard } from './data-guard';
import type { DataViolation, SmtpDataGuardOptions } from './data-guard';

interface Outcome {
  output: Buffer;
  violation: DataViolation | undefined;
  bytes: number;
}

const LARGE = 1024 * 1024;

async function run(chunks: readonly Buffer[], options: SmtpDataGuardOptions): Promise<Outcome> {
  const guard = new SmtpDataGuard(options);
  const received: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      received.push(chunk);
      callback();
    },
  });
  await pipeline(Readable.from(chunks), guard, sink);
  return { output: Buffer.concat(received), violation: guard.violation, bytes: guard.bytes };
}

/** The input whole, split in two and in three at every offset, and one octet at a time. */
function splits(input: Buffer): Buffer[][] {
  const result: Buffer[][] = [[input]];
  for (let i = 1; i < input.length; i += 1) {
    result.push([input.subarray(0, i), input.subarray(i)]);
    for (let j = i + 1; j < input.length; j += 1) {
      result.push([input.subarray(0, i), input.subarray(i, j), input.subarray(j)]);
    }
  }
  result.push([...input].map((octet) => Buffer.from([octet])));
  return result;
}

/** Runs every split and checks they agree; returns the outcome of the input whole. */
async function runSplits(
  text: string,
  options: SmtpDataGuardOptions = { maxBytes: LARGE },
): Promise<Outcome> {
  const input = Buffer.from(text, 'latin1');
  const whole = await run([input], options);
  for (const chunks of splits(input)) {
    const outcome = await run(chunks, options);
    const where = chunks.map((chunk) => chunk.length).join('+');
    expect({ where, violation: outcome.violation, bytes: outcome.bytes }).toEqual({
      where,
      violation: whole.violation,
      bytes: input.length,
    });
    if (whole.violation === undefined) {
      expect(outcome.output.equals(input)).toBe(true);
    } else {
      // What was passed on before the violation is a strict prefix: the message is never complete.
      expect(outcome.output.length).toBeLessThan(input.length);
      expect(input.subarray(0, outcome.output.length).equals(outcome.output)).toBe(true);
    }
  }
  return whole;
}

describe('SmtpDataGuard', () => {
  it('passes a well-formed message through unchanged, however it is chunked', async () => {
    const outcome = await runSplits('Subject: hi\r\n\r\nline one\r\n\r\n.. dot\r\n');
    expect(outcome.violation).toBeUndefined();
    expect(outcome.output.toString('latin1')).toBe('Subject: hi\r\n\r\nline one\r\n\r\n.. dot\r\n');
  });

  it.each([
    ['<LF>.<CR><LF> (SMTP smuggling)', 'A: b\r\n\r\nx\n.\r\nMAIL FROM:<e@x>\r\n'],
    ['<CR><LF>.<LF>', 'A: b\r\n\r\nx\r\n.\nMAIL FROM:<e@x>\r\n'],
    ['<LF>.<LF>', 'A: b\r\n\r\nx\n.\nRSET\r\n'],
    ['an LF at the very start', '\nA: b\r\n'],
    ['an LF right after a CRLF', 'A: b\r\n\nbody\r\n'],
    ['an LF at the very end', 'A: b\r\n\r\nbody\n'],
  ])('refuses a bare LF: %s', async (_name, text) => {
    expect((await runSplits(text)).violation).toBe('bare_lf');
  });

  it.each([
    ['in the middle of a line', 'A: b\r\n\r\nx\ry\r\n'],
    ['before a CRLF', 'A: b\r\n\r\nxy\r\r\n'],
    ['as <CR>.<CR>', 'A: b\r\n\r\nx\r.\rRSET\r\n'],
    ['as the last octet', 'A: b\r\n\r\nxy\r\n\r'],
    ['as the only octet', '\r'],
  ])('refuses a bare CR %s', async (_name, text) => {
    expect((await runSplits(text)).violation).toBe('bare_cr');
  });

  it('waits for the next chunk to judge a CR that ends a chunk', async () => {
    const good = await run([Buffer.from('ab\r'), Buffer.from('\ncd\r\n')], { maxBytes: LARGE });
    const bad = await run([Buffer.from('ab\r'), Buffer.from('cd\r\n')], { maxBytes: LARGE });
    const empty = await run([Buffer.from('ab\r'), Buffer.alloc(0), Buffer.from('\ncd\r\n')], {
      maxBytes: LARGE,
    });
    expect(good.violation).toBeUndefined();
    expect(good.output.toString()).toBe('ab\r\ncd\r\n');
    expect(bad.violation).toBe('bare_cr');
    expect(empty.violation).toBeUndefined();
    expect(empty.output.toString()).toBe('ab\r\ncd\r\n');
  });

  it('accepts a line of exactly 998 octets and refuses one of 999 (RFC 5322 §2.1.1)', async () => {
    const ok = await run([Buffer.from(`A: b\r\n\r\n${'x'.repeat(998)}\r\nend\r\n`)], { maxBytes: LARGE });
    const long = await run([Buffer.from(`A: b\r\n\r\n${'x'.repeat(999)}\r\nend\r\n`)], { maxBytes: LARGE });
    expect(ok.violation).toBeUndefined();
    expect(long.violation).toBe('line_too_long');
  });

  it('counts a long line across chunks, without its CRLF', async () => {
    const line = Buffer.from(`${'x'.repeat(998)}\r\n`);
    const longer = Buffer.from(`${'x'.repeat(999)}\r\n`);
    const at = (input: Buffer, i: number): Buffer[] => [input.subarray(0, i), input.subarray(i)];
    for (const i of [1, 500, 997, 998, 999, 1000]) {
      expect((await run(at(line, i), { maxBytes: LARGE })).violation).toBeUndefined();
      expect((await run(at(longer, i), { maxBytes: LARGE })).violation).toBe('line_too_long');
    }
  });

  it('applies maxLineOctets to every line, including a last line without CRLF', async () => {
    expect((await runSplits('abcd\r\nabcd\r\nabcd', { maxBytes: LARGE, maxLineOctets: 4 })).violation).toBe(
      undefined,
    );
    expect(
      (await runSplits('abcd\r\nabcde\r\nab\r\n', { maxBytes: LARGE, maxLineOctets: 4 })).violation,
    ).toBe('line_too_long');
    expect((await runSplits('abcd\r\nabcde', { maxBytes: LARGE, maxLineOctets: 4 })).violation).toBe(
      'line_too_long',
    );
  });

  it('accepts a message of exactly maxBytes and refuses one octet more', async () => {
    const text = 'A: b\r\n\r\nbody\r\n';
    const exact = await runSplits(text, { maxBytes: text.length });
    const over = await runSplits(`${text}x`, { maxBytes: text.length });
    expect(exact.violation).toBeUndefined();
    expect(exact.output.toString()).toBe(text);
    expect(over.violation).toBe('too_big');
  });

  it('keeps reading to the end after a violation, passes nothing more and ends normally', async () => {
    const chunks = [
      Buffer.from('A: b\r\n\r\n'),
      Buffer.from('x\n'),
      ...Array<Buffer>(50).fill(Buffer.from('y\r\n')),
    ];
    const outcome = await run(chunks, { maxBytes: LARGE });
    expect(outcome.violation).toBe('bare_lf');
    expect(outcome.bytes).toBe(8 + 2 + 50 * 3);
    expect(outcome.output.toString()).toBe('A: b\r\n\r\n');
  });

  it('keeps counting bytes after the size limit is crossed', async () => {
    const chunks = Array<Buffer>(10).fill(Buffer.from('0123456789\r\n'));
    const outcome = await run(chunks, { maxBytes: 30 });
    expect(outcome).toEqual({
      output: Buffer.from('0123456789\r\n'.repeat(2)),
      violation: 'too_big',
      bytes: 120,
    });
  });

  describe('reports the first violation in the input', () => {
    const small = { maxBytes: LARGE, maxLineOctets: 4 };
    it.each<[string, SmtpDataGuardOptions, DataViolation]>([
      ['a\nb\rc\r\n', small, 'bare_lf'],
      ['a\rb\nc\r\n', small, 'bare_cr'],
      ['abcde\n', small, 'line_too_long'],
      ['abcd\n', small, 'bare_lf'],
      ['abc\rde\r\n', small, 'bare_cr'],
      // The CR is both bare and the fifth octet of the line: bare_cr is reported.
      ['abcd\rx\r\n', small, 'bare_cr'],
      ['ab\nxxxxxxxxxxxxxxxx', { maxBytes: 8 }, 'bare_lf'],
      ['abcdefghij\nk\r\n', { maxBytes: 8 }, 'too_big'],
      ['abcdefgh\rx\r\n', { maxBytes: 9 }, 'bare_cr'],
      // The CR is bare and over the limit at the same octet: too_big is reported.
      ['abcdefgh\rx\r\n', { maxBytes: 8 }, 'too_big'],
      ['abcdefgh\r', { maxBytes: 8 }, 'too_big'],
    ])('%j with %j gives %s', async (text, options, expected) => {
      expect((await runSplits(text, options)).violation).toBe(expected);
    });
  });

  it('passes 5 MB of valid content through unchanged', async () => {
    const line = Buffer.from(`${'abcdefghijklmnopqrstuvwxyz0123456789'.repeat(2)}\r\n`);
    const input = Buffer.concat(Array<Buffer>(Math.ceil((5 * 1024 * 1024) / line.length)).fill(line));
    const chunks: Buffer[] = [];
    for (let i = 0; i < input.length; i += 65_521) {
      chunks.push(input.subarray(i, i + 65_521));
    }
    const outcome = await run(chunks, { maxBytes: 25 * 1024 * 1024 });
    expect(outcome.violation).toBeUndefined();
    expect(outcome.bytes).toBe(input.length);
    expect(outcome.output.equals(input)).toBe(true);
  });

  it('rejects a limit that is not a non-negative integer', () => {
    expect(() => new SmtpDataGuard({ maxBytes: -1 })).toThrow(RangeError);
    expect(() => new SmtpDataGuard({ maxBytes: 10, maxLineOctets: 1.5 })).toThrow(RangeError);
    expect(() => new SmtpDataGuard({ maxBytes: Number.NaN })).toThrow(RangeError);
  });
});
