/** When a deferred delivery runs again, or that it has run out of time (docs/egress.md § Retries). */
export type NextAttempt = { kind: 'retry'; at: Date } | { kind: 'expired' };

export interface RetryPolicy {
  /** Delays after the 1st, 2nd, … attempt; the last one repeats (SER_EGRESS_RETRY_SCHEDULE). */
  schedule: readonly number[];
  /** Each delay varies by up to ± this fraction, so deferred mail does not come back in waves. */
  jitter: number;
  /** Queue lifetime from acceptance (SER_EGRESS_MAX_AGE). */
  maxAgeMs: number;
}

/**
 * After attempt `attempts` (1-based) failed temporarily: the next attempt time, never later than
 * the end of the queue lifetime (so the last attempt happens at the deadline), or `expired` once
 * the deadline has passed.
 */
export function nextAttempt(
  policy: RetryPolicy,
  attempts: number,
  acceptedAt: Date,
  now: Date,
  random: () => number = Math.random,
): NextAttempt {
  const deadline = acceptedAt.getTime() + policy.maxAgeMs;
  if (now.getTime() >= deadline) {
    return { kind: 'expired' };
  }
  const base = policy.schedule[Math.min(Math.max(attempts, 1), policy.schedule.length) - 1] ?? 0;
  const delay = Math.max(0, base * (1 + policy.jitter * (2 * random() - 1)));
  return { kind: 'retry', at: new Date(Math.min(now.getTime() + delay, deadline)) };
}
