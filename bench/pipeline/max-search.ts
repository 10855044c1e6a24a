import { performance } from 'node:perf_hooks';
import { setTimeout as delay } from 'node:timers/promises';
import type { Ledger, WindowStats } from './ledger';
import { offer } from './open-loop';
import type { Span } from './open-loop';
import type { PipelineSettings } from './pipeline-settings';

/** After a step, a pause before judging it, so that its last submissions have their replies. */
const JUDGE_AFTER_MS = 2000;

/** max mode: kept up means no refusal, everything accepted, delivered/s at the rate, short backlog. */
function judge(w: WindowStats, rate: number): { sustainable: boolean; why?: string } {
  const refused = w.replies4xx + w.replies5xx + w.clientErrors;
  const checks: [boolean, string][] = [
    [refused === 0, `${String(refused)} refused or failed submissions`],
    [w.accepted >= 0.98 * w.offered, `accepted ${String(w.accepted)} of ${String(w.offered)}`],
    [w.deliveredPerS >= 0.95 * rate, `delivered ${String(w.deliveredPerS)}/s`],
    [w.backlogAtEnd <= rate * 5, `${String(w.backlogAtEnd)} accepted but not delivered at the end`],
  ];
  const failed = checks.filter(([ok]) => !ok).map(([, why]) => why);
  return failed.length === 0 ? { sustainable: true } : { sustainable: false, why: failed.join('; ') };
}

/** Rising steps until the relay stops keeping up. */
export async function maxSearch(
  settings: PipelineSettings,
  ledger: Ledger,
  send: () => void,
): Promise<Span[]> {
  const spans: Span[] = [];
  for (let step = 0; step < settings.maxSteps; step += 1) {
    const rate = settings.startRate + step * settings.stepRate;
    const from = performance.now();
    const offered = await offer(rate, settings.stepS, send, () => ledger.progress());
    const to = performance.now();
    // A pause before judging, so that the step's last submissions have their replies.
    await delay(JUDGE_AFTER_MS);
    const stats = ledger.window(from, to, offered);
    const verdict = judge(stats, rate);
    spans.push({ rate, from, to, offered, verdict });
    console.log(
      `bench: pipeline: ${String(rate)}/s: accepted ${String(stats.acceptedPerS)}/s, delivered ${String(stats.deliveredPerS)}/s, ` +
        (verdict.sustainable ? 'kept up' : `did not keep up (${verdict.why ?? ''})`),
    );
    if (!verdict.sustainable) {
      break;
    }
  }
  return spans;
}

/** The highest rate kept up with, from windows (judged) or spans (with their verdict). */
export function lastSustainable(
  windows: readonly { rate: number; sustainable?: boolean; verdict?: Span['verdict'] }[],
): number {
  return windows
    .filter((w) => (w.sustainable ?? w.verdict?.sustainable) === true)
    .reduce((max, w) => Math.max(max, w.rate), 0);
}
