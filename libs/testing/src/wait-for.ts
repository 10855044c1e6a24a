import { setTimeout as delay } from 'node:timers/promises';

export interface WaitForOptions {
  /** Overall deadline (default 5000 ms). */
  timeoutMs?: number;
  /** Pause between attempts (default 50 ms). */
  intervalMs?: number;
  /** What is awaited, for the timeout message; a function is evaluated at timeout time. */
  description?: string | (() => string);
}

/** Thrown by waitFor when the deadline passes; `lastError` is what the final failing attempt threw. */
export class WaitForTimeoutError extends Error {
  constructor(
    message: string,
    readonly lastError: unknown,
  ) {
    super(message, lastError === undefined ? undefined : { cause: lastError });
    this.name = 'WaitForTimeoutError';
  }
}

type Attempt<T> = { kind: 'value'; value: T } | { kind: 'pending' } | { kind: 'error'; error: unknown };

const DEFAULT_TIMEOUT_MS = 5000;
const DEFAULT_INTERVAL_MS = 50;

/**
 * Polls `fn` until it yields something other than undefined/null/false, or the
 * deadline passes. A throwing attempt counts as "not yet" and its error is kept
 * for the timeout message. Each attempt is raced against the deadline, so a
 * hanging call cannot stretch the wait.
 */
export async function waitFor<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  options: WaitForOptions = {},
): Promise<T> {
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (let attempts = 1; ; attempts++) {
    const outcome = await attempt(fn, deadline - Date.now());
    if (outcome.kind === 'value') return outcome.value;
    if (outcome.kind === 'error') lastError = outcome.error;
    const remaining = deadline - Date.now();
    if (remaining <= 0) throw timeoutError(options.description, timeoutMs, attempts, lastError);
    await delay(Math.min(intervalMs, remaining));
  }
}

async function attempt<T>(
  fn: () => Promise<T | undefined | false> | T | undefined | false,
  remainingMs: number,
): Promise<Attempt<T>> {
  const abort = new AbortController();
  const run = (async (): Promise<Attempt<T>> => {
    try {
      const value = await fn();
      return value === undefined || value === null || value === false
        ? { kind: 'pending' }
        : { kind: 'value', value };
    } catch (error) {
      return { kind: 'error', error };
    }
  })();
  const expired = delay(Math.max(remainingMs, 0), { kind: 'pending' } as const, {
    signal: abort.signal,
  }).catch((): Attempt<T> => ({ kind: 'pending' }));
  try {
    return await Promise.race([run, expired]);
  } finally {
    abort.abort();
  }
}

function timeoutError(
  description: WaitForOptions['description'],
  timeoutMs: number,
  attempts: number,
  lastError: unknown,
): WaitForTimeoutError {
  const what = typeof description === 'function' ? description() : (description ?? 'condition');
  const last = lastError === undefined ? '' : `; last error: ${describeError(lastError)}`;
  return new WaitForTimeoutError(
    `Timed out after ${timeoutMs} ms waiting for ${what} (${attempts} attempts)${last}`,
    lastError,
  );
}

function describeError(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
