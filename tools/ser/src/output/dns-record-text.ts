import { printable } from './table';

/** A record's value as a zone file writes it: each character-string quoted, quotes escaped. */
export function quotedTxt(record: { value: string; strings?: string[] }): string {
  const strings = record.strings !== undefined && record.strings.length > 0 ? record.strings : [record.value];
  return strings.map((s) => `"${printable(s).replace(/["\\]/g, '\\$&')}"`).join(' ');
}
