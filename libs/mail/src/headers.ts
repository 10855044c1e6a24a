/** Pure helpers for RFC 5322 header blocks; no I/O. */

const HEADER_END = Buffer.from('\r\n\r\n');

/** Index just after the blank line that ends the header block, or -1 if not within `buffer`. */
export function headerBlockEnd(buffer: Buffer): number {
  const index = buffer.indexOf(HEADER_END);
  return index === -1 ? -1 : index + HEADER_END.length;
}

export interface HeaderField {
  name: string;
  /** Unfolded value (RFC 5322 §2.2.3: CRLF followed by WSP is removed). */
  value: string;
}

export function parseHeaderBlock(block: string): HeaderField[] {
  const fields: HeaderField[] = [];
  const lines = block.split(/\r\n/);
  for (const line of lines) {
    if (line === '') {
      break;
    }
    const last = fields[fields.length - 1];
    if ((line.startsWith(' ') || line.startsWith('\t')) && last !== undefined) {
      last.value += line;
      continue;
    }
    const colon = line.indexOf(':');
    if (colon > 0) {
      fields.push({ name: line.slice(0, colon).trim(), value: line.slice(colon + 1).trim() });
    }
  }
  return fields;
}

export function headerValues(fields: readonly HeaderField[], name: string): string[] {
  const lower = name.toLowerCase();
  return fields.filter((f) => f.name.toLowerCase() === lower).map((f) => f.value);
}
