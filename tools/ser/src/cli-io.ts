import type { Writable } from 'node:stream';

/** Where a command writes: results on stdout, progress and errors on stderr. */
export interface CliIo {
  stdout: Writable;
  stderr: Writable;
}

/** Writes text to stdout. */
export function out(io: CliIo, text: string): void {
  io.stdout.write(text);
}

/** A progress or warning line on stderr, so stdout stays clean for `--json` and pipes. */
export function progress(io: CliIo, line: string): void {
  io.stderr.write(`${line}\n`);
}

/** Prints a value as indented JSON on stdout. */
export function outJson(io: CliIo, value: unknown): void {
  io.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
}

/** Copies a response body to stdout byte for byte, waiting when stdout is full (a slow pager). */
export async function streamBody(io: CliIo, response: Response): Promise<void> {
  if (response.body === null) {
    return;
  }
  for await (const chunk of response.body) {
    if (!io.stdout.write(chunk)) {
      await new Promise<void>((resolve) => io.stdout.once('drain', resolve));
    }
  }
}
