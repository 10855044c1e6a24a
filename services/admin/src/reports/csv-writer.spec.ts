import { csvCell, toCsv } from './csv-writer';

describe('CSV writer', () => {
  it('quotes cells with a comma, a quote or a line break (RFC 4180)', () => {
    expect(csvCell('plain@example.com')).toBe('plain@example.com');
    expect(csvCell('"Bob, Jr." <bob@example.com>')).toBe('"""Bob, Jr."" <bob@example.com>"');
    expect(csvCell('two\r\nlines')).toBe('"two\r\nlines"');
    expect(csvCell(42)).toBe('42');
    expect(csvCell(undefined)).toBe('');
  });

  it('keeps a spreadsheet from running a cell as a formula', () => {
    expect(csvCell('=HYPERLINK("http://x")')).toBe('"\'=HYPERLINK(""http://x"")"');
    expect(csvCell('+1')).toBe("'+1");
    expect(csvCell('-2')).toBe("'-2");
    expect(csvCell('@SUM(A1)')).toBe("'@SUM(A1)");
  });

  it('ends every record with CRLF, header first', () => {
    expect(toCsv(['metric', 'key', 'count'], [['rejected', 'spam', 3]])).toBe(
      'metric,key,count\r\nrejected,spam,3\r\n',
    );
  });
});
