import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readVariable } from './env-source';

describe('readVariable', () => {
  let dir: string;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ser-env-spec-'));
  });

  afterAll(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('returns the direct value untouched and reports nothing', () => {
    const problems: string[] = [];
    expect(readVariable({ TOKEN: ' value ' }, 'TOKEN', problems)).toBe(' value ');
    expect(problems).toEqual([]);
  });

  it('returns undefined for an unset or blank variable', () => {
    const problems: string[] = [];
    expect(readVariable({}, 'TOKEN', problems)).toBeUndefined();
    expect(readVariable({ TOKEN: '  ', TOKEN_FILE: '' }, 'TOKEN', problems)).toBeUndefined();
    expect(problems).toEqual([]);
  });

  it('reads and trims the file named by NAME_FILE', () => {
    const path = join(dir, 'token');
    writeFileSync(path, '\n  s3cret-value \n');
    const problems: string[] = [];
    expect(readVariable({ TOKEN_FILE: path }, 'TOKEN', problems)).toBe('s3cret-value');
    expect(problems).toEqual([]);
  });

  it('refuses an empty file rather than taking it as an empty secret', () => {
    const path = join(dir, 'empty');
    writeFileSync(path, ' \n');
    const problems: string[] = [];
    expect(readVariable({ TOKEN_FILE: path }, 'TOKEN', problems)).toBeUndefined();
    expect(problems).toEqual([`TOKEN_FILE: ${path} is empty`]);
  });

  it('refuses NAME and NAME_FILE together, without reading the file', () => {
    const problems: string[] = [];
    expect(readVariable({ TOKEN: 'a', TOKEN_FILE: join(dir, 'absent') }, 'TOKEN', problems)).toBeUndefined();
    expect(problems).toEqual(['TOKEN and TOKEN_FILE are both set; set only one']);
  });

  it('appends a problem naming the unreadable file and keeps earlier problems', () => {
    const path = join(dir, 'absent');
    const problems = ['earlier'];
    expect(readVariable({ TOKEN_FILE: path }, 'TOKEN', problems)).toBeUndefined();
    expect(problems).toEqual(['earlier', `TOKEN_FILE: cannot read ${path} (ENOENT)`]);
  });
});
