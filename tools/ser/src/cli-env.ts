import { readFile } from 'node:fs/promises';
import type { ParsedArgs } from './args';
import { CliError } from './cli-error';

/** The environment variables the CLI reads; main.ts passes them in (house style 7: config is injected). */
export type CliEnv = Readonly<Record<string, string | undefined>>;

export const DEFAULT_API_URL = 'http://127.0.0.1:8080';

/** Where the CLI talks to and with which token. */
export interface ApiSettings {
  baseUrl: string;
  token: string;
}

/** `--api`, else `SER_API_URL`, else the local default; must be an http(s) URL. */
export function resolveApiUrl(args: ParsedArgs, env: CliEnv): string {
  const raw = args.string('api') ?? env['SER_API_URL'] ?? DEFAULT_API_URL;
  let url: URL;
  try {
    url = new URL(raw);
  } catch (error) {
    throw new CliError('config', `the API URL "${raw}" is not a URL`, [], { cause: error });
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError('config', `the API URL must be http or https, not ${url.protocol}`);
  }
  if (url.username !== '' || url.password !== '') {
    // A token in the URL would end up in shell history and error messages.
    throw new CliError('config', 'the API URL must not carry credentials; use SER_API_TOKEN or a token file');
  }
  return url.toString().replace(/\/+$/, '');
}

/**
 * The token from `--token-file`, else `SER_API_TOKEN`, else the file named by `SER_API_TOKEN_FILE`.
 * There is deliberately no `--token` flag: it would land in shell history and `ps` output.
 */
export async function resolveToken(args: ParsedArgs, env: CliEnv): Promise<string> {
  const file = args.string('token-file');
  if (file !== undefined) {
    return readTokenFile(file, '--token-file');
  }
  const direct = env['SER_API_TOKEN']?.trim();
  if (direct !== undefined && direct !== '') {
    return direct;
  }
  const envFile = env['SER_API_TOKEN_FILE'];
  if (envFile !== undefined && envFile !== '') {
    return readTokenFile(envFile, 'SER_API_TOKEN_FILE');
  }
  throw new CliError(
    'config',
    'no API token: set SER_API_TOKEN or SER_API_TOKEN_FILE, or pass --token-file <path>',
  );
}

async function readTokenFile(path: string, source: string): Promise<string> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'unreadable';
    throw new CliError('config', `cannot read the token file ${path} (${source}): ${code}`, [], {
      cause: error,
    });
  }
  const token = text.trim();
  if (token === '') {
    throw new CliError('config', `the token file ${path} (${source}) is empty`);
  }
  return token;
}
