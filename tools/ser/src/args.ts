import { parseArgs } from 'node:util';
import { CliError } from './cli-error';

/** One option a command accepts: a `--name value` string or a `--name` flag. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  /** Placeholder in usage text (`<id>`); flags have none. */
  value?: string;
  /** Shown without brackets in usage; `ParsedArgs.required` enforces it. */
  required?: boolean;
  description: string;
}

export type OptionSpecs = Readonly<Record<string, OptionSpec>>;

/** Options every command accepts. */
export const GLOBAL_OPTIONS: OptionSpecs = {
  api: {
    type: 'string',
    value: '<url>',
    description: 'admin API base URL (SER_API_URL; default http://127.0.0.1:8080)',
  },
  'token-file': {
    type: 'string',
    value: '<path>',
    description: 'file holding the API token (else SER_API_TOKEN, SER_API_TOKEN_FILE)',
  },
  json: { type: 'boolean', description: 'print JSON for scripts instead of tables' },
  help: { type: 'boolean', description: 'show usage' },
};

/** Parsed command line of one command, with typed accessors that fail as usage errors. */
export class ParsedArgs {
  constructor(
    private readonly values: Readonly<Record<string, string | boolean | undefined>>,
    readonly positionals: readonly string[],
  ) {}

  string(name: string): string | undefined {
    const value = this.values[name];
    return typeof value === 'string' ? value : undefined;
  }

  required(name: string): string {
    const value = this.string(name);
    if (value === undefined || value.trim() === '') {
      throw new CliError('usage', `missing required option --${name}`);
    }
    return value.trim();
  }

  flag(name: string): boolean {
    return this.values[name] === true;
  }

  /** The positional argument at `index`, named `label` in the error when it is missing. */
  positional(index: number, label: string): string {
    const value = this.positionals[index];
    if (value === undefined || value === '') {
      throw new CliError('usage', `missing argument ${label}`);
    }
    return value;
  }

  /** One of `choices`, or `fallback` when the option is absent. */
  choice<T extends string>(name: string, choices: readonly T[], fallback: T): T {
    const value = this.string(name);
    if (value === undefined) {
      return fallback;
    }
    const found = choices.find((c) => c === value);
    if (found === undefined) {
      throw new CliError('usage', `--${name} must be one of ${choices.join(', ')}, not "${value}"`);
    }
    return found;
  }
}

/**
 * Parses `args` (after the command words) strictly: an unknown option or a missing value is a usage
 * error naming it, so a typo never turns into a request with a default.
 */
export function parseCommandArgs(
  args: readonly string[],
  specs: OptionSpecs,
  maxPositionals: number,
  words: readonly string[],
): ParsedArgs {
  const hint = [`see: ser ${words.join(' ')} --help`];
  const options = Object.fromEntries(
    Object.entries({ ...GLOBAL_OPTIONS, ...specs }).map(([name, spec]) => [name, { type: spec.type }]),
  );
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({ args: [...args], options, strict: true, allowPositionals: true });
  } catch (error) {
    throw new CliError('usage', error instanceof Error ? error.message : String(error), hint, {
      cause: error,
    });
  }
  if (parsed.positionals.length > maxPositionals) {
    throw new CliError('usage', `unexpected argument "${parsed.positionals[maxPositionals] ?? ''}"`, hint);
  }
  const values: Record<string, string | boolean | undefined> = {};
  for (const [name, value] of Object.entries(parsed.values)) {
    values[name] = Array.isArray(value) ? value.at(-1) : value;
  }
  return new ParsedArgs(values, parsed.positionals);
}
