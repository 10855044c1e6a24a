import { displayWidth, formatFields, formatTable, printable } from './table';

describe('formatTable', () => {
  it('aligns columns two spaces apart without trailing spaces, absent cells as -', () => {
    expect(
      formatTable(
        ['ID', 'NAME', 'LAST USED'],
        [
          ['app_1', 'billing', '2026-11-29T10:47:48.101Z'],
          ['app_22', 'crm', undefined],
        ],
      ),
    ).toBe(
      'ID      NAME     LAST USED\n' + 'app_1   billing  2026-11-29T10:47:48.101Z\n' + 'app_22  crm      -\n',
    );
  });

  it('counts a letter with a combining accent as one column', () => {
    expect(
      formatTable(
        ['A', 'B'],
        [
          ['e\u0301', 'x'],
          ['ab', 'z'],
        ],
      ),
    ).toBe('A   B\ne\u0301   x\nab  z\n');
    expect(displayWidth('e\u0301')).toBe(1);
  });

  it('replaces control characters so API text cannot drive the terminal', () => {
    expect(printable('Invoice\u001b[2J\r\n')).toBe('Invoice?[2J??');
    expect(formatTable(['S'], [['a\tb']])).toBe('S\na?b\n');
  });

  it('prints a header alone for no rows', () => {
    expect(formatTable(['ID', 'NAME'], [])).toBe('ID  NAME\n');
  });
});

describe('formatFields', () => {
  it('pads keys to one width', () => {
    expect(
      formatFields([
        ['id', 'x'],
        ['username', 3],
        ['none', null],
      ]),
    ).toBe('id:       x\nusername: 3\nnone:     -\n');
  });
});
