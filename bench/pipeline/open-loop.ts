import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';

const PROGRESS_EVERY_MS = 10_000;

/** One offered span of load: a fixed-rate run, a step of the max search, an overload phase. */
export interface Span {
  rate: number;
  from: number;
  to: number;
  offered: number;
  /** overload mode: which part of the run (`max search`, `overload`, `recovery`). */
  phase?: string;
  verdict?: { sustainable: boolean; why?: string };
}

/**
 * Sends at `rate` messages a second for `seconds`, open loop (the schedule ignores replies), and
 * says every 10 s how it goes. Stops early once `until` says so (checked every 5 ms).
 */
export async function offer(
  rate: number,
  seconds: number,
  send: () => void,
  progress: () => string,
  until: () => boolean = () => false,
): Promise<number> {
  const start = performance.now();
  let sent = 0;
  let lastSaid = start;
  for (;;) {
    const now = performance.now();
    const elapsed = (now - start) / 1000;
    if (now - lastSaid >= PROGRESS_EVERY_MS) {
      lastSaid = now;
      console.log(`bench: pipeline: ${String(rate)}/s for ${String(Math.round(elapsed))} s: ${progress()}`);
    }
    const due = Math.min(Math.floor(elapsed * rate), Math.round(seconds * rate));
    while (sent < due) {
      send();
      sent += 1;
    }
    if (elapsed >= seconds || until()) {
      return sent;
    }
    await delay(5);
  }
}
