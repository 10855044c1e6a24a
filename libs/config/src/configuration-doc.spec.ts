import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CONFIG_VARIABLES } from './relay-config';

/** The variables in the first column of docs/configuration.md's tables (a cell may name several). */
function documentedVariables(): Set<string> {
  const text = readFileSync(resolve(__dirname, '../../../docs/configuration.md'), 'utf8');
  const firstCells = [...text.matchAll(/^\| ([^|]+) \|/gm)].map((m) => m[1] ?? '');
  return new Set(
    firstCells.flatMap((cell) => [...cell.matchAll(/`([A-Z][A-Z0-9_]*)`/g)].map((m) => m[1] ?? '')),
  );
}

describe('docs/configuration.md', () => {
  it('documents every variable the relay reads', () => {
    const documented = documentedVariables();
    expect(CONFIG_VARIABLES.filter((name) => !documented.has(name))).toEqual([]);
  });
});
