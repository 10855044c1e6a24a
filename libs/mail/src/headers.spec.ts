import { headerBlockEnd, headerValues, parseHeaderBlock } from './headers';

describe('parseHeaderBlock', () => {
  it('unfolds continuation lines and stops at the blank line', () => {
    const fields = parseHeaderBlock(
      'From: A <a@x.test>\r\nSubject: hello\r\n world\r\n\r\nFrom: body@y.test\r\n',
    );
    expect(fields).toEqual([
      { name: 'From', value: 'A <a@x.test>' },
      { name: 'Subject', value: 'hello world' },
    ]);
  });

  it('finds every value of a repeated header, case-insensitively', () => {
    const fields = parseHeaderBlock('from: a@x.test\r\nTo: b@y.test\r\nFROM: c@z.test\r\n');
    expect(headerValues(fields, 'From')).toEqual(['a@x.test', 'c@z.test']);
  });
});

describe('headerBlockEnd', () => {
  it('points just past the blank line, or -1 while it has not arrived', () => {
    expect(headerBlockEnd(Buffer.from('A: b\r\n\r\nbody'))).toBe(8);
    expect(headerBlockEnd(Buffer.from('A: b\r\nC: d\r\n'))).toBe(-1);
  });
});
