import type { Readable } from 'node:stream';

export interface EightBitContent {
  /** The header section has bytes above 127 (raw UTF-8 headers: SMTPUTF8 needed, RFC 6532). */
  header: boolean;
  /** The body has bytes above 127 (8BITMIME needed, RFC 6152). */
  body: boolean;
}

/** Reads a message once and tells where it has 8-bit bytes; only run when a receiver lacks an extension. */
export async function inspectEightBit(message: Readable): Promise<EightBitContent> {
  const result: EightBitContent = { header: false, body: false };
  let inHeader = true;
  // The last bytes seen, to find the CRLF CRLF (or LF LF) that ends the header across chunks.
  let tail = '';
  for await (const chunk of message) {
    const buffer = chunk as Buffer;
    let bodyStart = 0;
    if (inHeader) {
      const text = tail + buffer.toString('latin1');
      const end = /\r?\n\r?\n/.exec(text);
      if (end === null) {
        result.header ||= hasHighBytes(buffer);
        tail = text.slice(-3);
        continue;
      }
      bodyStart = Math.max(0, end.index + end[0].length - tail.length);
      result.header ||= hasHighBytes(buffer.subarray(0, bodyStart));
      inHeader = false;
    }
    result.body ||= hasHighBytes(buffer.subarray(bodyStart));
    if (result.body && result.header) {
      message.destroy();
      break;
    }
  }
  return result;
}

function hasHighBytes(buffer: Buffer): boolean {
  return buffer.some((byte) => byte > 0x7f);
}

/** Envelope addresses with non-ASCII characters need SMTPUTF8 (RFC 6531). */
export function needsSmtpUtf8(addresses: readonly string[]): boolean {
  return addresses.some((address) => /[^\p{ASCII}]/u.test(address));
}
