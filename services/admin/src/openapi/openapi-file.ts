import { execFileSync } from 'node:child_process';
import { dirname, join } from 'node:path';

/** The committed document, relative to the repository root. */
export const OPENAPI_FILE = 'docs/openapi.json';

/**
 * The bytes of docs/openapi.json for a document: JSON as Prettier formats it with the repository's
 * settings, since `npm run format:check` checks that file too. Prettier runs as a child process
 * (its API is ESM-first, which Jest's CommonJS runtime cannot load). A development tool: the
 * service itself serves plain JSON. Run from the repository root.
 */
export function formatOpenApiFile(document: unknown): string {
  const prettier = join(dirname(require.resolve('prettier/package.json')), 'bin', 'prettier.cjs');
  return execFileSync(process.execPath, [prettier, '--stdin-filepath', OPENAPI_FILE], {
    input: JSON.stringify(document, null, 2),
    encoding: 'utf8',
  });
}
