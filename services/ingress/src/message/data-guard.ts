import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';

/** Why a DATA phase is refused (with `550 5.5.2` or `552 5.3.4` by the caller). */
export type DataViolation = 'too_big' | 'bare_lf' | 'bare_cr' | 'line_too_long';

export interface SmtpDataGuardOptions {
  /** Largest accepted message, in octets of the dot-unstuffed DATA content. */
  maxBytes: number;
  /** Longest accepted line, excluding its CRLF; RFC 5322 §2.1.1 sets 998. */
  maxLineOctets?: number;
}

interface Found {
  kind: DataViolation;
  /** Offset in the whole input of the octet that makes the input invalid. */
  offset: number;
}

const CR = 0x0d;
const LF = 0x0a;
const CR_OCTET = Buffer.from([CR]);

/**
 * Checks the DATA content of one message on its way to the store. A bare LF or bare CR is refused
 * because receivers disagree on what ends the data (SMTP smuggling: `<LF>.<CR><LF>`), the same
 * defence as Postfix `smtpd_forbid_bare_newline`; over-long lines break RFC 5322 §2.1.1.
 *
 * The first violation, by position in the input, is kept in {@link violation}. From then on nothing
 * is passed on, so the store stops writing a message that will be refused (and never gets all of it),
 * but the input is still read to the end, as SMTP requires before the reply, and the stream ends
 * normally.
 */
export class SmtpDataGuard extends Transform {
  private count = 0;
  private found: DataViolation | undefined;
  /** Octets of the current line seen so far, without a pending CR. */
  private lineLength = 0;
  /** The previous chunk ended with CR, so whether it is bare depends on the next octet. */
  private pendingCr = false;
  private readonly maxBytes: number;
  private readonly maxLineOctets: number;

  constructor(options: SmtpDataGuardOptions) {
    super();
    this.maxBytes = checkLimit('maxBytes', options.maxBytes);
    this.maxLineOctets = checkLimit('maxLineOctets', options.maxLineOctets ?? 998);
  }

  /** Every octet read so far, including those after a violation. */
  get bytes(): number {
    return this.count;
  }

  /** The first violation found, if any; final once the stream has ended. */
  get violation(): DataViolation | undefined {
    return this.found;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    if (chunk.length === 0) {
      // Nothing to judge a pending CR by.
      callback();
      return;
    }
    const start = this.count;
    this.count += chunk.length;
    const heldCr = this.pendingCr;
    if (this.found === undefined) {
      this.check(chunk, start);
    }
    if (this.found !== undefined) {
      callback();
      return;
    }
    if (heldCr) {
      this.push(CR_OCTET);
    }
    // A final CR is held back until the next octet shows it is not bare, so that the store never
    // receives the whole of a message that will be refused.
    const ready = this.pendingCr ? chunk.subarray(0, chunk.length - 1) : chunk;
    callback(null, ready.length > 0 ? ready : undefined);
  }

  override _flush(callback: TransformCallback): void {
    // A CR as the very last octet has no LF after it.
    if (this.pendingCr) {
      this.found ??= 'bare_cr';
    }
    callback();
  }

  private check(chunk: Buffer, start: number): void {
    const scanned = this.scan(chunk, start);
    // The size limit is crossed at the octet at offset maxBytes; the earlier problem wins, and on a
    // tie too_big, so that the answer does not depend on how the input was chunked.
    const tooBig = this.count > this.maxBytes ? this.maxBytes : Infinity;
    if (scanned !== undefined && scanned.offset < tooBig) {
      this.found = scanned.kind;
    } else if (tooBig !== Infinity) {
      this.found = 'too_big';
    }
  }

  /** The first problem in `chunk` (at input offset `start`), line by line, with indexOf only. */
  private scan(chunk: Buffer, start: number): Found | undefined {
    let pos = 0;
    if (this.pendingCr) {
      this.pendingCr = false;
      if (chunk[0] !== LF) {
        return { kind: 'bare_cr', offset: start - 1 };
      }
      this.lineLength = 0;
      pos = 1;
    }
    for (;;) {
      const lf = chunk.indexOf(LF, pos);
      if (lf === -1) {
        return this.scanTail(chunk, start, pos);
      }
      // The octet before an LF at pos is another LF (or before the chunk: a pending CR was handled).
      if (chunk[lf - 1] !== CR) {
        return this.firstOf(chunk, start, pos, lf, { kind: 'bare_lf', offset: start + lf });
      }
      const problem = this.firstOf(chunk, start, pos, lf - 1, undefined);
      if (problem !== undefined) {
        return problem;
      }
      this.lineLength = 0;
      pos = lf + 1;
    }
  }

  /** The rest of a chunk without LF: a final CR waits for the next chunk. */
  private scanTail(chunk: Buffer, start: number, pos: number): Found | undefined {
    let end = chunk.length;
    if (end > pos && chunk[end - 1] === CR) {
      this.pendingCr = true;
      end -= 1;
    }
    const problem = this.firstOf(chunk, start, pos, end, undefined);
    this.lineLength += end - pos;
    return problem;
  }

  /**
   * The earliest problem among a bare CR in the line octets `chunk[pos, end)`, the line growing past
   * the limit there, and `after` (a problem at `end` or later). A bare CR wins a tie with the length.
   */
  private firstOf(
    chunk: Buffer,
    start: number,
    pos: number,
    end: number,
    after: Found | undefined,
  ): Found | undefined {
    const cr = chunk.indexOf(CR, pos);
    const bareCr = cr !== -1 && cr < end ? start + cr : Infinity;
    const room = this.maxLineOctets - this.lineLength;
    const tooLong = end - pos > room ? start + pos + room : Infinity;
    if (bareCr !== Infinity && bareCr <= tooLong) {
      return { kind: 'bare_cr', offset: bareCr };
    }
    if (tooLong !== Infinity) {
      return { kind: 'line_too_long', offset: tooLong };
    }
    return after;
  }
}

function checkLimit(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative integer, got ${value}`);
  }
  return value;
}
