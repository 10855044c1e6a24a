import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HeaderRewriter, rfc5322Date } from './header-rewriter';
import type { HeaderRewriterOptions } from './header-rewriter';

const NOW = new Date(Date.UTC(2026, 10, 28, 17, 42, 41));
const RECEIVED =
  'Received: from client.example ([192.0.2.1])\r\n\tby relay.example; Sat, 28 Nov 2026 17:42:41 +0000';
const OPTIONS: HeaderRewriterOptions = {
  prepend: [RECEIVED],
  messageId: '01JABC',
  messageIdDomain: 'relay.example',
  now: NOW,
};
const ADDED_ID = 'Message-ID: <01JABC@relay.example>\r\n';
const ADDED_DATE = 'Date: Sat, 28 Nov 2026 17:42:41 +0000\r\n';

interface Outcome {
  output: string;
  rewriter: HeaderRewriter;
}

async function run(
  chunks: readonly Buffer[],
  options: Partial<HeaderRewriterOptions> = {},
): Promise<Outcome> {
  const rewriter = new HeaderRewriter({ ...OPTIONS, ...options });
  const received: Buffer[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      received.push(chunk);
      callback();
    },
  });
  await pipeline(Readable.from(chunks), rewriter, sink);
  return { output: Buffer.concat(received).toString('latin1'), rewriter };
}

/** What a run exposes, for comparing runs. */
function observe({ output, rewriter }: Outcome): object {
  return {
    output,
    headerBlock: rewriter.headerBlock,
    stripped: rewriter.stripped,
    violation: rewriter.violation,
    addedMessageId: rewriter.addedMessageId,
    addedDate: rewriter.addedDate,
  };
}

/** Runs the input whole, split in two and three at every offset and octet by octet; all must agree. */
async function runSplits(text: string, options: Partial<HeaderRewriterOptions> = {}): Promise<Outcome> {
  const input = Buffer.from(text, 'latin1');
  const whole = await run([input], options);
  const expected = observe(whole);
  const splits: Buffer[][] = [[...input].map((octet) => Buffer.from([octet]))];
  for (let i = 1; i < input.length; i += 1) {
    splits.push([input.subarray(0, i), input.subarray(i)]);
    for (let j = i + 1; j < input.length; j += 1) {
      splits.push([input.subarray(0, i), input.subarray(i, j), input.subarray(j)]);
    }
  }
  for (const chunks of splits) {
    const where = chunks.map((chunk) => chunk.length).join('+');
    expect({ where, ...observe(await run(chunks, options)) }).toEqual({ where, ...expected });
  }
  return whole;
}

describe('HeaderRewriter', () => {
  it('puts the prepended fields first and keeps the rest, adding nothing already there', async () => {
    const header = 'From: a@x.test\r\nDate: Fri, 27 Nov 2026 10:00:00 +0100\r\nMessage-ID: <m@x.test>\r\n';
    const { output, rewriter } = await runSplits(`${header}\r\nbody\r\n`);
    expect(output).toBe(`${RECEIVED}\r\n${header}\r\nbody\r\n`);
    expect(rewriter.headerBlock).toBe(header);
    expect(rewriter.addedMessageId).toBeUndefined();
    expect(rewriter.addedDate).toBe(false);
    expect(rewriter.violation).toBeUndefined();
  });

  it('adds Message-ID and Date after the original fields when they are missing', async () => {
    const { output, rewriter } = await runSplits('From: a@x.test\r\n\r\nbody\r\n');
    expect(output).toBe(`${RECEIVED}\r\nFrom: a@x.test\r\n${ADDED_ID}${ADDED_DATE}\r\nbody\r\n`);
    expect(rewriter.addedMessageId).toBe('<01JABC@relay.example>');
    expect(rewriter.addedDate).toBe(true);
  });

  it('recognises Message-ID and Date whatever their case', async () => {
    const header = 'message-ID: <m@x.test>\r\nDATE: Fri, 27 Nov 2026 10:00:00 +0100\r\n';
    const { output, rewriter } = await runSplits(`${header}\r\nb\r\n`);
    expect(output).toBe(`${RECEIVED}\r\n${header}\r\nb\r\n`);
    expect([rewriter.addedMessageId, rewriter.addedDate]).toEqual([undefined, false]);
  });

  it('removes X-SER- fields in any case with their continuation lines, and keeps similar names', async () => {
    const header =
      'X-SER-Tenant: t1\r\n\tfolded\r\n  again\r\nSubject: s\r\n continued\r\nx-ser-flag: 1\r\nX-Serious: yes\r\n';
    const { output, rewriter } = await runSplits(`${header}\r\nX-SER-Body: stays\r\n`);
    expect(output).toBe(
      `${RECEIVED}\r\nSubject: s\r\n continued\r\nX-Serious: yes\r\n${ADDED_ID}${ADDED_DATE}\r\nX-SER-Body: stays\r\n`,
    );
    expect(rewriter.stripped).toEqual(['X-SER-Tenant', 'x-ser-flag']);
    expect(rewriter.headerBlock).toBe(header);
  });

  it('strips the configured prefixes instead of the default', async () => {
    const { output, rewriter } = await run([Buffer.from('X-Internal-A: 1\r\nX-SER-B: 2\r\n\r\n')], {
      stripPrefixes: ['X-INTERNAL-'],
      prepend: [],
    });
    expect(output).toBe(`X-SER-B: 2\r\n${ADDED_ID}${ADDED_DATE}\r\n`);
    expect(rewriter.stripped).toEqual(['X-Internal-A']);
  });

  it('handles a message of headers only, with or without a final CRLF', async () => {
    const withCrlf = await runSplits('Subject: s\r\n');
    const without = await runSplits('Subject: s');
    for (const { output, rewriter } of [withCrlf, without]) {
      expect(output).toBe(`${RECEIVED}\r\nSubject: s\r\n${ADDED_ID}${ADDED_DATE}\r\n`);
      expect(rewriter.headerBlock).toMatch(/^Subject: s(\r\n)?$/);
    }
  });

  it('handles an empty message and one that starts with the blank line', async () => {
    const empty = await run([]);
    expect(empty.output).toBe(`${RECEIVED}\r\n${ADDED_ID}${ADDED_DATE}\r\n`);
    const noHeader = await runSplits('\r\nbody\r\n');
    expect(noHeader.output).toBe(`${RECEIVED}\r\n${ADDED_ID}${ADDED_DATE}\r\nbody\r\n`);
    expect(noHeader.rewriter.headerBlock).toBe('');
  });

  it.each([
    ['a first line that is not a field', '', 'Hello world\r\nSubject: x\r\n'],
    ['a line without colon after fields', 'Subject: s\r\n', 'this is the body\r\n'],
    ['a space in the field name', 'Subject: s\r\n', 'Bad Name: x\r\n'],
    ['an empty field name', 'Subject: s\r\n', ': x\r\n'],
    ['a non-ASCII name octet', 'Subject: s\r\n', 'Caf\u00e9: x\r\n'],
    ['a last line without CRLF or colon', 'Subject: s\r\n', 'tail'],
    ['a bare CR line', 'Subject: s\r\n', '\rx\r\n'],
    ['a bare LF line', 'Subject: s\r\n', '\nx\r\n'],
    // A client must not fold its text into the Received field put before it.
    ['a continuation line first', '', ' Injected: yes\r\nSubject: x\r\n\r\nbody'],
  ])('ends the header block before %s and inserts the blank line', async (_name, header, rest) => {
    const { output, rewriter } = await runSplits(`${header}${rest}`);
    expect(output).toBe(`${RECEIVED}\r\n${header}${ADDED_ID}${ADDED_DATE}\r\n${rest}`);
    expect(rewriter.headerBlock).toBe(header);
  });

  it('passes the body through untouched and before the input ends', async () => {
    const rewriter = new HeaderRewriter(OPTIONS);
    const received: string[] = [];
    rewriter.on('data', (chunk: Buffer) => received.push(chunk.toString('latin1')));
    rewriter.write('Subject: s\r\n\r\nfirst\r\n\r\nNot-A-Header: x\r\n');
    await new Promise((resolve) => setImmediate(resolve));
    expect(received.join('')).toBe(
      `${RECEIVED}\r\nSubject: s\r\n${ADDED_ID}${ADDED_DATE}\r\nfirst\r\n\r\nNot-A-Header: x\r\n`,
    );
    rewriter.end('X-SER-Late: 1\r\n');
    await new Promise((resolve) => rewriter.on('end', resolve));
    expect(received.join('')).toMatch(/Not-A-Header: x\r\nX-SER-Late: 1\r\n$/);
  });

  it('passes a 5 MB body through unchanged', async () => {
    const body = Buffer.alloc(5 * 1024 * 1024, 'line of body text\r\n');
    const chunks = [Buffer.from('Subject: big\r\n\r\n')];
    for (let i = 0; i < body.length; i += 65_536) {
      chunks.push(body.subarray(i, i + 65_536));
    }
    const { output } = await run(chunks);
    const head = `${RECEIVED}\r\nSubject: big\r\n${ADDED_ID}${ADDED_DATE}\r\n`;
    expect(output.length).toBe(head.length + body.length);
    expect(output.startsWith(head)).toBe(true);
    expect(Buffer.from(output.slice(head.length), 'latin1').equals(body)).toBe(true);
  });

  describe('maxHeaderBytes', () => {
    const header = 'Subject: abcdefgh\r\n'; // 19 octets; 21 with the blank line

    it('accepts a header block whose blank line ends exactly at the limit', async () => {
      const { output, rewriter } = await runSplits(`${header}\r\nbody`, { maxHeaderBytes: 21 });
      expect(rewriter.violation).toBeUndefined();
      expect(output).toBe(`${RECEIVED}\r\n${header}${ADDED_ID}${ADDED_DATE}\r\nbody`);
    });

    it('refuses one octet less, passes nothing and still reads to the end', async () => {
      const { output, rewriter } = await runSplits(`${header}\r\nbody`, { maxHeaderBytes: 20 });
      expect(rewriter.violation).toBe('header_too_large');
      expect(output).toBe('');
      expect(rewriter.headerBlock).toBe('');
    });

    it('refuses a header that never ends within the limit, by default 256 KiB', async () => {
      const big = `Subject: s\r\n${'X-Filler: 0123456789012345678901234567890123456789\r\n'.repeat(6000)}\r\nbody\r\n`;
      const { output, rewriter } = await run([Buffer.from(big)]);
      expect(rewriter.violation).toBe('header_too_large');
      expect(output).toBe('');
      const fits = await run([Buffer.from(big.slice(0, 200_000)), Buffer.from('\r\n\r\nbody\r\n')]);
      expect(fits.rewriter.violation).toBeUndefined();
    });
  });

  it('refuses prepended fields that would inject lines, and unsafe Message-ID parts', () => {
    const make = (options: Partial<HeaderRewriterOptions>) => () =>
      new HeaderRewriter({ ...OPTIONS, ...options });
    expect(make({ prepend: ['Received: x\r\nBcc: victim@example.com'] })).toThrow(RangeError);
    expect(make({ prepend: ['Received: x\r\n'] })).toThrow(RangeError);
    expect(make({ prepend: ['no colon'] })).toThrow(RangeError);
    expect(make({ messageId: 'a>\r\nBcc: x' })).toThrow(RangeError);
    expect(make({ messageIdDomain: 'relay example' })).toThrow(RangeError);
    expect(make({ prepend: [RECEIVED, 'X-Other: a\r\n\tb'] })).not.toThrow();
  });

  it('dates an added Date field with the current time when no time is given', async () => {
    const before = Math.floor(Date.now() / 1000) * 1000;
    const { output } = await run([Buffer.from('Subject: s\r\n\r\n')], { now: undefined });
    const after = Date.now();
    const date = /\r\nDate: (.+)\r\n\r\n$/.exec(output)?.[1] ?? '';
    expect(date).toMatch(/^[A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000$/);
    expect(Date.parse(date)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(date)).toBeLessThanOrEqual(after);
  });
});

describe('rfc5322Date', () => {
  it('formats in UTC with a numeric zone (RFC 5322 §3.3)', () => {
    expect(rfc5322Date(NOW)).toBe('Sat, 28 Nov 2026 17:42:41 +0000');
    expect(rfc5322Date(new Date('2027-01-05T04:04:05+01:00'))).toBe('Tue, 05 Jan 2027 03:04:05 +0000');
  });

  it('refuses an invalid date', () => {
    expect(() => rfc5322Date(new Date(Number.NaN))).toThrow(RangeError);
  });
});
