/** Why the CLI stopped: each kind maps to one exit code (docs/cli.md, "Exit codes"). */
export type CliErrorKind = 'usage' | 'config' | 'api' | 'network' | 'incomplete';

/** Exit codes by error kind: 1 for anything the API or the network refused, 2 for a bad command line. */
export const EXIT_CODES: Readonly<Record<CliErrorKind | 'ok', number>> = {
  ok: 0,
  api: 1,
  network: 1,
  config: 2,
  usage: 2,
  incomplete: 3,
};

/**
 * An error the CLI reports as one `error: …` line (plus `details`) and turns into an exit code.
 * Messages never contain the API token.
 */
export class CliError extends Error {
  constructor(
    readonly kind: CliErrorKind,
    message: string,
    readonly details: readonly string[] = [],
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CliError';
  }
}
