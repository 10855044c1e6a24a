import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';

export type HeaderViolation = 'header_too_large';

export interface HeaderRewriterOptions {
  /** Complete fields to put first (e.g. `Received:`), without the final CRLF; folds are CRLF + WSP. */
  prepend: string[];
  /** Right-hand side of an added Message-ID. */
  messageIdDomain: string;
  /** Left-hand side of an added Message-ID. */
  messageId: string;
  /** Time for an added Date field; the time the header is written when absent. */
  now?: Date;
  /** The header block and the line that ends it must be recognised within this many octets. */
  maxHeaderBytes?: number;
  /** Field-name prefixes (case-insensitive) removed with their continuation lines. */
  stripPrefixes?: string[];
}

interface HeaderEnd {
  /** Offset where the header block ends (before its blank line, if any). */
  blockEnd: number;
  /** Offset where the body starts: after the blank line, or at the first line that is not a field. */
  bodyStart: number;
}

type LineKind = 'header' | 'blank' | 'other' | 'unknown';

const CR = 0x0d;
const LF = 0x0a;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;
const CRLF = '\r\n';
/** RFC 5322 §2.2: field name, colon, then printable ASCII or WSP; folds are CRLF + WSP (§2.2.3). */
const SAFE_FIELD = /^[!-9;-~]+:[\t -~]*(?:\r\n[\t ][\t -~]*)*$/;
/** RFC 5322 §3.2.3 dot-atom-text characters, so an added Message-ID cannot break the header. */
const ATEXT = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$/;
const DAYS = 'SunMonTueWedThuFriSat';
const MONTHS = 'JanFebMarAprMayJunJulAugSepOctNovDec';

/** A date as RFC 5322 §3.3 date-time, always in UTC: `Sat, 28 Nov 2026 17:42:41 +0000`. */
export function rfc5322Date(date: Date): string {
  if (Number.isNaN(date.getTime())) {
    throw new RangeError('Cannot format an invalid date');
  }
  const two = (n: number): string => String(n).padStart(2, '0');
  const day = date.getUTCDay() * 3;
  const month = date.getUTCMonth() * 3;
  const time = `${two(date.getUTCHours())}:${two(date.getUTCMinutes())}:${two(date.getUTCSeconds())}`;
  return `${DAYS.slice(day, day + 3)}, ${two(date.getUTCDate())} ${MONTHS.slice(month, month + 3)} ${String(
    date.getUTCFullYear(),
  ).padStart(4, '0')} ${time} +0000`;
}

/**
 * Rewrites the header block of a message on its way to the store: our fields first (trace fields go
 * on top, RFC 5321 §4.4), internal `X-SER-` fields a client may have forged removed, and the
 * Message-ID and Date that RFC 5322 §3.6 requires added when missing. Only the header block is
 * buffered; the body passes straight through.
 *
 * If the end of the header block is not found within `maxHeaderBytes`, {@link violation} is set and
 * nothing more is passed on, but the input is still read to the end, as SMTP requires.
 */
export class HeaderRewriter extends Transform {
  private head = Buffer.alloc(0);
  private headLength = 0;
  /** Start of the first header line not yet known to be complete. */
  private lineStart = 0;
  /** Octets of the current line before this offset hold no LF and, until classified, no colon. */
  private scanFrom = 0;
  private lineIsHeader = false;
  private state: 'head' | 'body' | 'refused' = 'head';
  private block = '';
  private readonly strippedNames: string[] = [];
  private found: HeaderViolation | undefined;
  private messageIdAdded: string | undefined;
  private dateAdded = false;
  private readonly prepend: readonly string[];
  private readonly messageId: string;
  private readonly now: Date | undefined;
  private readonly maxHeaderBytes: number;
  private readonly stripPrefixes: readonly string[];

  constructor(options: HeaderRewriterOptions) {
    super();
    for (const field of options.prepend) {
      if (!SAFE_FIELD.test(field)) {
        throw new RangeError(`Not a complete header field: ${JSON.stringify(field)}`);
      }
    }
    if (!ATEXT.test(options.messageId) || !ATEXT.test(options.messageIdDomain)) {
      throw new RangeError('messageId and messageIdDomain must be RFC 5322 dot-atom text');
    }
    this.prepend = [...options.prepend];
    this.messageId = `<${options.messageId}@${options.messageIdDomain}>`;
    this.now = options.now;
    this.maxHeaderBytes = options.maxHeaderBytes ?? 256 * 1024;
    this.stripPrefixes = (options.stripPrefixes ?? ['x-ser-']).map((prefix) => prefix.toLowerCase());
  }

  /** The original header block (latin1), without the blank line; '' until its end is known. */
  get headerBlock(): string {
    return this.block;
  }

  /** Names of the removed fields, as they were spelt. */
  get stripped(): string[] {
    return [...this.strippedNames];
  }

  get violation(): HeaderViolation | undefined {
    return this.found;
  }

  /** The msg-id added (`<id@domain>`), if the message had no Message-ID field. */
  get addedMessageId(): string | undefined {
    return this.messageIdAdded;
  }

  get addedDate(): boolean {
    return this.dateAdded;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    switch (this.state) {
      case 'body':
        callback(null, chunk);
        return;
      case 'refused':
        callback();
        return;
      case 'head':
        this.takeHead(chunk);
        callback();
        return;
    }
  }

  override _flush(callback: TransformCallback): void {
    if (this.state === 'head') {
      // Headers only: the last line counts if it is a field, even without CRLF (rewrite adds it).
      const complete = this.lineIsHeader || this.lineStart >= this.headLength;
      const end = complete ? this.headLength : this.lineStart;
      this.emitHead({ blockEnd: end, bodyStart: end });
    }
    callback();
  }

  private takeHead(chunk: Buffer): void {
    this.append(chunk);
    // Only the first maxHeaderBytes octets are searched, so the outcome does not depend on chunking.
    const end = this.findEnd(Math.min(this.headLength, this.maxHeaderBytes));
    if (end !== undefined) {
      this.emitHead(end);
    } else if (this.headLength > this.maxHeaderBytes) {
      this.found = 'header_too_large';
      this.state = 'refused';
      this.release();
    }
  }

  /** Appends to a buffer that doubles, so many small chunks cost linear time. */
  private append(chunk: Buffer): void {
    const needed = this.headLength + chunk.length;
    if (needed > this.head.length) {
      const grown = Buffer.allocUnsafe(Math.max(needed, this.head.length * 2, 4096));
      this.head.copy(grown, 0, 0, this.headLength);
      this.head = grown;
    }
    chunk.copy(this.head, this.headLength);
    this.headLength = needed;
  }

  private release(): void {
    this.head = Buffer.alloc(0);
    this.headLength = 0;
  }

  /** Walks header lines in `head[0, limit)`, resuming where the previous call stopped. */
  private findEnd(limit: number): HeaderEnd | undefined {
    const head = this.head.subarray(0, limit);
    for (;;) {
      if (!this.lineIsHeader) {
        const kind = this.classify(head);
        switch (kind) {
          case 'unknown':
            return undefined;
          case 'blank':
            return { blockEnd: this.lineStart, bodyStart: this.lineStart + 2 };
          case 'other':
            return { blockEnd: this.lineStart, bodyStart: this.lineStart };
          case 'header':
            this.lineIsHeader = true;
        }
      }
      const lf = head.indexOf(LF, this.scanFrom);
      if (lf === -1) {
        this.scanFrom = head.length;
        return undefined;
      }
      this.lineStart = this.scanFrom = lf + 1;
      this.lineIsHeader = false;
    }
  }

  /**
   * What the line at lineStart is, from as few octets as needed. A field is `name:` with name
   * octets 33–126 except colon (RFC 5322 §2.2, §3.6.8); a continuation starts with WSP (§2.2.3) and
   * only counts after a field, so a client cannot fold its text into our prepended fields.
   */
  private classify(head: Buffer): LineKind {
    const start = this.lineStart;
    const first = head[start];
    if (first === undefined) {
      return 'unknown';
    }
    if (first === SP || first === HTAB) {
      return start > 0 ? 'header' : 'other';
    }
    if (first === CR) {
      const second = head[start + 1];
      return second === undefined ? 'unknown' : second === LF ? 'blank' : 'other';
    }
    for (let i = Math.max(this.scanFrom, start); i < head.length; i += 1) {
      const octet = head[i] ?? 0;
      if (octet === COLON) {
        this.scanFrom = i;
        return i > start ? 'header' : 'other';
      }
      if (octet < 33 || octet > 126) {
        return 'other';
      }
    }
    this.scanFrom = head.length;
    return 'unknown';
  }

  private emitHead(end: HeaderEnd): void {
    this.block = this.head.toString('latin1', 0, end.blockEnd);
    const body = this.head.subarray(end.bodyStart, this.headLength);
    this.release();
    this.state = 'body';
    this.push(Buffer.from(this.rewrite(this.block), 'latin1'));
    if (body.length > 0) {
      this.push(body);
    }
  }

  /** The new header block, blank line included. */
  private rewrite(block: string): string {
    const kept: string[] = [];
    let hasMessageId = false;
    let hasDate = false;
    for (const field of splitFields(block)) {
      const name = field.slice(0, field.indexOf(':'));
      const lower = name.toLowerCase();
      if (this.stripPrefixes.some((prefix) => lower.startsWith(prefix))) {
        this.strippedNames.push(name);
        continue;
      }
      hasMessageId ||= lower === 'message-id';
      hasDate ||= lower === 'date';
      kept.push(field.endsWith('\n') ? field : field + CRLF);
    }
    if (!hasMessageId) {
      this.messageIdAdded = this.messageId;
      kept.push(`Message-ID: ${this.messageId}${CRLF}`);
    }
    if (!hasDate) {
      this.dateAdded = true;
      kept.push(`Date: ${rfc5322Date(this.now ?? new Date())}${CRLF}`);
    }
    return this.prepend.map((field) => field + CRLF).join('') + kept.join('') + CRLF;
  }
}

/** Header fields with their continuation lines and line ends; the block starts with a field. */
function splitFields(block: string): string[] {
  const fields: string[] = [];
  for (const line of block.match(/[^\n]*\n|[^\n]+$/g) ?? []) {
    const last = fields.at(-1);
    if ((line.startsWith(' ') || line.startsWith('\t')) && last !== undefined) {
      fields[fields.length - 1] = last + line;
    } else {
      fields.push(line);
    }
  }
  return fields;
}
