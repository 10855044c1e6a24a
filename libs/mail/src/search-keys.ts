/**
 * Keys a message is searched by, derived the same way when the message is stored (ingress) and
 * when it is looked up (admin), so that equal-looking subjects and differently cased senders meet.
 * Pure: no I/O.
 */
import { createHash } from 'node:crypto';

const ENCODED_WORD = /=\?([^?\s]+)\?([bBqQ])\?([^?\s]*)\?=/g;

interface Piece {
  /** Bytes of a run of encoded-words in one charset, or undefined for literal text. */
  bytes?: Buffer;
  charset?: string;
  text: string;
}

/**
 * Decodes RFC 2047 encoded-words (`=?charset?B|Q?text?=`) in an unstructured header value.
 * Whitespace between two adjacent encoded-words is dropped (RFC 2047 §6.2), and adjacent words in
 * one charset are decoded together, so a character split across words (common in practice,
 * though §5 forbids it) survives. A word in an unknown charset is left as it was.
 */
export function decodeEncodedWords(value: string): string {
  const pieces: Piece[] = [];
  let last = 0;
  for (const match of value.matchAll(ENCODED_WORD)) {
    const between = value.slice(last, match.index);
    const previous = pieces.at(-1);
    const adjacent = previous?.bytes !== undefined && /^\s*$/.test(between);
    if (!adjacent && between !== '') {
      pieces.push({ text: between });
    }
    const [word, rawCharset = '', encoding = '', text = ''] = match;
    // RFC 2231 §5: `charset*language`.
    const charset = rawCharset.split('*')[0]?.toLowerCase() ?? '';
    const bytes = encoding.toUpperCase() === 'B' ? Buffer.from(text, 'base64') : decodeQ(text);
    if (adjacent && previous.charset === charset) {
      previous.bytes = Buffer.concat([previous.bytes ?? Buffer.alloc(0), bytes]);
      previous.text += word;
    } else {
      pieces.push({ bytes, charset, text: word });
    }
    last = match.index + word.length;
  }
  pieces.push({ text: value.slice(last) });
  return pieces.map(decodePiece).join('');
}

function decodeQ(text: string): Buffer {
  const bytes: number[] = [];
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i] ?? '';
    const hex = text.slice(i + 1, i + 3);
    if (c === '=' && /^[0-9A-Fa-f]{2}$/.test(hex)) {
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      bytes.push(c === '_' ? 0x20 : c.charCodeAt(0) & 0xff);
    }
  }
  return Buffer.from(bytes);
}

function decodePiece(piece: Piece): string {
  if (piece.bytes === undefined) {
    return piece.text;
  }
  try {
    return new TextDecoder(piece.charset).decode(piece.bytes);
  } catch {
    return piece.text; // an unknown charset: keep what was sent
  }
}

/**
 * A subject as people read it: RFC 2047 decoded, Unicode NFC, every run of whitespace (spaces,
 * tabs, folding left-overs, non-breaking spaces) one space, trimmed. Case is kept.
 */
export function normaliseSubject(subject: string): string {
  return decodeEncodedWords(subject).normalize('NFC').replace(/\s+/gu, ' ').trim();
}

/** SHA-256 (lowercase hex) of {@link normaliseSubject}: the indexed key of a subject search. */
export function subjectHash(subject: string): string {
  return createHash('sha256').update(normaliseSubject(subject), 'utf8').digest('hex');
}

/**
 * The sender keys of a message: its header From and envelope MAIL FROM, trimmed, lowercased and
 * without duplicates. The null reverse-path (`MAIL FROM:<>`, a bounce) adds nothing. Local parts
 * are case-sensitive in theory (RFC 5321 §2.4), but no mailbox provider treats them so, and a
 * search that misses `Alice@` for `alice@` is worse than one that finds both.
 */
export function senderKeys(headerFrom: string, mailFrom: string): string[] {
  const keys = [headerFrom, mailFrom]
    .map((a) =>
      a
        .trim()
        .replace(/^<(.*)>$/, '$1')
        .toLowerCase(),
    )
    .filter((a) => a !== '');
  return [...new Set(keys)];
}
