/** A cell of a table: anything printable; absent values print as `-`. */
export type Cell = string | number | boolean | null | undefined;

/**
 * Text from the API (subjects, names, SMTP replies) is printed to a terminal: control characters,
 * escape sequences included, are replaced so a crafted subject cannot rewrite the screen.
 */
export function printable(value: Cell): string {
  if (value === null || value === undefined || value === '') {
    return '-';
  }
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  return String(value).replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

const segmenter = new Intl.Segmenter();

/** Width in terminal columns, counting grapheme clusters (a letter with combining accents is one). */
export function displayWidth(text: string): number {
  let width = 0;
  for (const segment of segmenter.segment(text)) {
    width += segment.segment === '' ? 0 : 1;
  }
  return width;
}

/**
 * Formats rows under a header as left-aligned columns two spaces apart, without trailing spaces.
 * Returns the lines joined with `\n` and ending with one.
 */
export function formatTable(header: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const cells = [
    header.map((h) => printable(h)),
    ...rows.map((row) => header.map((_, i) => printable(row[i]))),
  ];
  const widths = header.map((_, i) => Math.max(...cells.map((row) => displayWidth(row[i] ?? ''))));
  const pad = (cell: string, i: number): string => cell + ' '.repeat((widths[i] ?? 0) - displayWidth(cell));
  return cells.map((row) => `${row.map(pad).join('  ').trimEnd()}\n`).join('');
}

/** `key: value` lines with the keys padded to one width, for a single object. */
export function formatFields(fields: readonly (readonly [string, Cell])[]): string {
  const width = Math.max(0, ...fields.map(([key]) => key.length));
  return fields.map(([key, value]) => `${`${key}:`.padEnd(width + 1)} ${printable(value)}\n`).join('');
}
