import type { ApiClient } from '../api-client';
import type { OptionSpecs, ParsedArgs } from '../args';
import type { CliEnv } from '../cli-env';
import type { CliIo } from '../cli-io';

/** What a command runs with: the API client, the output streams, the environment and `--json`. */
export interface CommandContext {
  api: ApiClient;
  io: CliIo;
  env: CliEnv;
  json: boolean;
  /** The API base URL, for hints (never the token). */
  apiUrl: string;
}

/** One command of `ser`, addressed by its words (`['dkim', 'rotate']`). */
export interface Command {
  words: readonly string[];
  /** Positional arguments in usage (`<keyId>`), in order. */
  positionals?: readonly string[];
  summary: string;
  options: OptionSpecs;
  /** Extra usage text: examples, notes. */
  notes?: string;
  run(context: CommandContext, args: ParsedArgs): Promise<void>;
}
