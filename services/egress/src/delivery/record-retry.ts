/** First pause after a failed write. */
const FIRST_DELAY_MS = 100;
/** Longest pause between two tries. */
const MAX_DELAY_MS = 2000;

/**
 * The pause after the `failedTries`-th failed try: 100 ms doubling, capped at 2 s, of which a
 * random half is left out ("equal jitter"), so that the jobs a database outage cut all at once do
 * not come back at the same instant.
 */
export function recordBackoffMs(failedTries: number, random: () => number = Math.random): number {
  const exponent = Math.max(0, Math.min(failedTries - 1, 10));
  const ceiling = Math.min(MAX_DELAY_MS, FIRST_DELAY_MS * 2 ** exponent);
  return ceiling / 2 + (ceiling / 2) * random();
}

export interface RetryClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

const realClock: RetryClock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** One failed try that will be tried again after `retryInMs`. */
export interface FailedTry {
  error: unknown;
  /** 1 for the first try. */
  tryNumber: number;
  retryInMs: number;
}

/**
 * Runs `write` until it resolves, pausing between tries (recordBackoffMs), and rethrows its last
 * error once `deadline` (epoch ms) has passed. A try started before the deadline is never cut
 * short. `write` must be safe to repeat: a try that failed may have been applied all the same
 * (its reply lost), which is why it is told which try it is.
 */
export async function retryUntil<T>(
  deadline: number,
  write: (tryNumber: number) => Promise<T>,
  onFailedTry: (failed: FailedTry) => void,
  clock: RetryClock = realClock,
): Promise<T> {
  for (let tryNumber = 1; ; tryNumber += 1) {
    try {
      return await write(tryNumber);
    } catch (error) {
      const left = deadline - clock.now();
      if (left <= 0) {
        throw error;
      }
      const retryInMs = Math.min(left, recordBackoffMs(tryNumber));
      onFailedTry({ error, tryNumber, retryInMs });
      await clock.sleep(retryInMs);
    }
  }
}
