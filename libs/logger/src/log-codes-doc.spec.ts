import { readdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const ROOT = resolve(__dirname, '../../..');
/** Log codes start with the part of the relay that writes them. */
const CODE =
  /(?:code|failureCode): '((?:ADMIN|EGRESS|INGRESS|PIPELINE|QUEUE|REPORTING|RUNTIME|SCANNER|SIGNER)_[A-Z0-9_]+)'/g;

/** The TypeScript sources (not tests) of every service, library and tool. */
function sources(): string[] {
  const files: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        walk(path);
      } else if (entry.name.endsWith('.ts') && !entry.name.endsWith('.spec.ts')) {
        files.push(path);
      }
    }
  };
  for (const group of ['services', 'libs', 'tools']) {
    for (const project of readdirSync(join(ROOT, group))) {
      const src = join(ROOT, group, project, 'src');
      try {
        walk(src);
      } catch {
        // a project without src/
      }
    }
  }
  return files;
}

function codesInCode(): Set<string> {
  const codes = new Set<string>();
  for (const file of sources()) {
    for (const match of readFileSync(file, 'utf8').matchAll(CODE)) {
      codes.add(match[1] ?? '');
    }
  }
  return codes;
}

function documentedCodes(): Set<string> {
  const text = readFileSync(join(ROOT, 'docs/log-codes.md'), 'utf8');
  return new Set([...text.matchAll(/^\| `([A-Z][A-Z0-9_]+)` \|/gm)].map((m) => m[1] ?? ''));
}

describe('docs/log-codes.md', () => {
  it('documents every log code the relay writes, and no code it does not', () => {
    const written = codesInCode();
    const documented = documentedCodes();
    expect(written.size).toBeGreaterThan(50);
    expect([...written].filter((c) => !documented.has(c)).sort()).toEqual([]);
    expect([...documented].filter((c) => !written.has(c)).sort()).toEqual([]);
  });
});
