import { readFileSync } from 'node:fs';

export type Env = Readonly<Record<string, string | undefined>>;

/**
 * Resolves `NAME` from the environment, or from the file named by `NAME_FILE` (Kubernetes secrets).
 * Setting both is refused: it is almost always a mistake that would silently pick one of them.
 */
export function readVariable(env: Env, name: string, problems: string[]): string | undefined {
  const direct = emptyToUndefined(env[name]);
  const file = emptyToUndefined(env[`${name}_FILE`]);
  if (direct !== undefined && file !== undefined) {
    problems.push(`${name} and ${name}_FILE are both set; set only one`);
    return undefined;
  }
  if (file === undefined) {
    return direct;
  }
  try {
    const value = readFileSync(file, 'utf8').trim();
    if (value === '') {
      problems.push(`${name}_FILE: ${file} is empty`);
      return undefined;
    }
    return value;
  } catch (error) {
    problems.push(`${name}_FILE: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? 'error'})`);
    return undefined;
  }
}

function emptyToUndefined(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value;
}
