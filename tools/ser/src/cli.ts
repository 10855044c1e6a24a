import { ApiClient } from './api-client';
import type { FetchFn } from './api-client';
import { parseCommandArgs } from './args';
import { CliError, EXIT_CODES } from './cli-error';
import { resolveApiUrl, resolveToken } from './cli-env';
import type { CliEnv } from './cli-env';
import type { CliIo } from './cli-io';
import { appsCommand } from './commands/apps.command';
import type { Command } from './commands/command';
import { credsListCommand, credsRevokeCommand, credsRotateCommand } from './commands/creds.command';
import { dkimCommands } from './commands/dkim.command';
import { domainsCommands } from './commands/domains.command';
import { messagesShowCommand } from './commands/messages.command';
import { onboardCommand } from './commands/onboard.command';
import { reportCommand } from './commands/report.command';
import { tokensCommands } from './commands/tokens.command';
import { commandHelp, overviewHelp } from './help';

/** Every command of `ser`, in the order `ser --help` lists them. */
export const COMMANDS: readonly Command[] = [
  onboardCommand,
  appsCommand,
  credsRotateCommand,
  credsListCommand,
  credsRevokeCommand,
  ...domainsCommands,
  ...dkimCommands,
  reportCommand,
  messagesShowCommand,
  ...tokensCommands,
];

/** The command whose words start `argv`, and the arguments after them. */
export function findCommand(argv: readonly string[]): { command: Command; rest: string[] } | undefined {
  for (const command of COMMANDS) {
    if (command.words.every((word, i) => argv[i] === word)) {
      return { command, rest: argv.slice(command.words.length) };
    }
  }
  return undefined;
}

async function runCommand(
  command: Command,
  rest: readonly string[],
  env: CliEnv,
  io: CliIo,
  fetchFn: FetchFn,
) {
  const args = parseCommandArgs(rest, command.options, command.positionals?.length ?? 0, command.words);
  if (args.flag('help')) {
    io.stdout.write(commandHelp(command));
    return;
  }
  const apiUrl = resolveApiUrl(args, env);
  const api = new ApiClient(apiUrl, await resolveToken(args, env), fetchFn);
  await command.run({ api, io, env, json: args.flag('json'), apiUrl }, args);
}

function reportError(io: CliIo, error: unknown): number {
  if (error instanceof CliError) {
    io.stderr.write(`error: ${error.message}\n${error.details.map((d) => `  ${d}\n`).join('')}`);
    return EXIT_CODES[error.kind];
  }
  const message = error instanceof Error ? error.message : String(error);
  io.stderr.write(`error: unexpected failure: ${message}\n`);
  return EXIT_CODES.api;
}

/**
 * Runs one `ser` command line and returns its exit code. Nothing here reads `process`: main.ts
 * passes the arguments, environment and streams, so tests run the CLI in-process.
 */
export async function runCli(
  argv: readonly string[],
  env: CliEnv,
  io: CliIo,
  fetchFn: FetchFn = fetch,
): Promise<number> {
  const [first] = argv;
  if (first === undefined || first === '--help' || first === '-h' || first === 'help') {
    (first === undefined ? io.stderr : io.stdout).write(overviewHelp(COMMANDS));
    return first === undefined ? EXIT_CODES.usage : EXIT_CODES.ok;
  }
  const found = findCommand(argv);
  if (found === undefined) {
    const group = COMMANDS.some((c) => c.words[0] === first) ? first : undefined;
    const asksHelp = argv.includes('--help');
    (asksHelp ? io.stdout : io.stderr).write(
      group === undefined
        ? `error: unknown command "${first}"\n\n${overviewHelp(COMMANDS)}`
        : overviewHelp(COMMANDS, group),
    );
    return asksHelp && group !== undefined ? EXIT_CODES.ok : EXIT_CODES.usage;
  }
  try {
    await runCommand(found.command, found.rest, env, io, fetchFn);
    return EXIT_CODES.ok;
  } catch (error) {
    return reportError(io, error);
  }
}
