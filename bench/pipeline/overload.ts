import { performance } from 'node:perf_hooks';
import type { Ledger, WindowStats } from './ledger';
import { offer } from './open-loop';
import type { Span } from './open-loop';
import type { PipelineSettings } from './pipeline-settings';

/** Issue 9: after an overload the relay accepts every message again within this time. */
export const RECOVERY_TARGET_S = 60;
/** The recovery phase ends early once every submission of this long was accepted. */
const CONFIRM_MS = 10_000;
/** Submissions of the last moments may not have their reply yet: they are judged later. */
const REPLY_GRACE_MS = 2000;

/** What the overload run offered, and the relay's admission bounds during it. */
export interface OverloadPlan {
  baseRate: number;
  baseRateFrom: 'given' | 'max search';
  factor: number;
  overloadRate: number;
  overloadS: number;
  recoveryRate: number;
  recoveryS: number;
  /** SER_INGRESS_MAX_SCAN_BACKLOG / SER_INGRESS_MAX_CONCURRENT_DATA given to the relay ('default': not set). */
  maxScanBacklog: number | 'default';
  maxConcurrentData: number | 'default';
}

/** Where the two phases were, in the ledger's clock. */
export interface OverloadSpans {
  plan: OverloadPlan;
  spans: Span[];
  overloadEnd: number;
  recoveryEnd: number;
}

/** Reply counts of a phase: each SMTP code, and the submissions that got no reply. */
export interface PhaseReplies {
  offered: number;
  codes: Record<string, number>;
  timeouts: number;
  connectionErrors: number;
  /** Handing the message to the client → reply, p50/p99/max ms. */
  submitToReplyMs: { p50: number; p99: number; max: number };
}

export interface OverloadResult extends OverloadPlan {
  overload: PhaseReplies;
  recovery: PhaseReplies;
  /** From the end of the overload to the first submission after the last refused one; null: never. */
  recoverySeconds: number | null;
  /** What issue 9 asks and this run did not show (empty: every claim held). */
  problems: string[];
}

/**
 * Offers `factor` × the base rate for `durationS`, then a low rate for at most `recoveryS`, ending
 * early once everything sent in the last 10 s was accepted.
 */
export async function offerOverload(
  settings: PipelineSettings,
  base: { rate: number; from: 'given' | 'max search' },
  ledger: Ledger,
  send: () => void,
): Promise<OverloadSpans> {
  const plan: OverloadPlan = {
    baseRate: base.rate,
    baseRateFrom: base.from,
    factor: settings.factor,
    overloadRate: Math.round(base.rate * settings.factor * 10) / 10,
    overloadS: settings.durationS,
    recoveryRate: settings.recoveryRate ?? Math.max(1, Math.floor(base.rate / 2)),
    recoveryS: settings.recoveryS,
    maxScanBacklog: settings.maxScanBacklog ?? 'default',
    maxConcurrentData: settings.maxConcurrentData ?? 'default',
  };
  console.log(
    `bench: pipeline: overload: ${String(plan.overloadRate)}/s (${String(plan.factor)} × ${String(plan.baseRate)}/s, ${plan.baseRateFrom}) ` +
      `for ${String(plan.overloadS)} s, then ${String(plan.recoveryRate)}/s for at most ${String(plan.recoveryS)} s`,
  );
  const progress = (): string => ledger.progress();
  const overloadFrom = performance.now();
  const overloaded = await offer(plan.overloadRate, plan.overloadS, send, progress);
  const overloadEnd = performance.now();
  const sentAt: number[] = [];
  const recovered = (): boolean => {
    const now = performance.now();
    if (now - overloadEnd < CONFIRM_MS) {
      return false;
    }
    const [from, to] = [now - CONFIRM_MS, now - REPLY_GRACE_MS];
    const sent = sentAt.filter((t) => t >= from && t < to).length;
    return sent > 0 && ledger.window(from, to, sent).accepted === sent;
  };
  const sendTimed = (): void => {
    sentAt.push(performance.now());
    send();
  };
  const recovering = await offer(plan.recoveryRate, plan.recoveryS, sendTimed, progress, recovered);
  const recoveryEnd = performance.now();
  return {
    plan,
    overloadEnd,
    recoveryEnd,
    spans: [
      {
        rate: plan.overloadRate,
        from: overloadFrom,
        to: overloadEnd,
        offered: overloaded,
        phase: 'overload',
      },
      { rate: plan.recoveryRate, from: overloadEnd, to: recoveryEnd, offered: recovering, phase: 'recovery' },
    ],
  };
}

/** Judged once every reply is in (after the drain). */
export function overloadResult(run: OverloadSpans, ledger: Ledger): OverloadResult {
  const [overloadSpan, recoverySpan] = run.spans;
  const phase = (span: Span | undefined): PhaseReplies => {
    const w: WindowStats = ledger.window(span?.from ?? 0, span?.to ?? 0, span?.offered ?? 0);
    const latency = w.submitToReply;
    return {
      offered: w.offered,
      codes: w.codes,
      timeouts: w.timeouts,
      connectionErrors: w.connectionErrors,
      submitToReplyMs: { p50: latency.p50, p99: latency.p99, max: latency.max },
    };
  };
  const overload = phase(overloadSpan);
  const recovery = phase(recoverySpan);
  const recoverySeconds = ledger.recoverySeconds(run.overloadEnd, run.recoveryEnd) ?? null;
  const timeouts = overload.timeouts + recovery.timeouts;
  const problems = [
    timeouts > 0 ? `${String(timeouts)} submissions timed out (no reply within the client's timeout)` : '',
    recoverySeconds === null
      ? `not accepting every message again by the end of the ${String(Math.round((run.recoveryEnd - run.overloadEnd) / 1000))} s recovery phase`
      : recoverySeconds > RECOVERY_TARGET_S
        ? `accepted every message again only after ${String(recoverySeconds)} s`
        : '',
  ].filter((p) => p !== '');
  return { ...run.plan, overload, recovery, recoverySeconds, problems };
}
