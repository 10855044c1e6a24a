import { percentile } from '../support/latency';
import type { Submission } from './load-generator';
import type { Receipt } from './loopback-internet';

/** p50/p95/p99/max in milliseconds, rounded to 0.1, and the sample size. */
export interface Percentiles {
  count: number;
  p50: number;
  p95: number;
  p99: number;
  max: number;
}

/** What happened in one window of the run (a fixed-rate run, or one step of the max search). */
export interface WindowStats {
  seconds: number;
  offered: number;
  accepted: number;
  acceptedPerS: number;
  /** Messages that reached a sink in the window (whenever they were submitted). */
  delivered: number;
  deliveredPerS: number;
  replies4xx: number;
  replies5xx: number;
  /** Submissions that ended without an SMTP reply (connection reset, timeout). */
  clientErrors: number;
  /** Replies by code (`250`, `421`, `451`, …). */
  codes: Record<string, number>;
  /** Client errors that were the client giving up waiting for a reply, and the others. */
  timeouts: number;
  connectionErrors: number;
  /** Handing the message to the client → its reply or failure (includes waiting in the client's queue). */
  submitToReply: Percentiles;
  /** Client end of data to the relay's reply to the final dot, for the window's submissions. */
  dataToReply: Percentiles;
  /** The relay's `250` to the sink's receipt, for the window's accepted messages that arrived. */
  replyToSink: Percentiles;
  /** Accepted in the window and not at a sink when the window ended. */
  backlogAtEnd: number;
}

/** The correctness check: every `250` arrived exactly once, and signed. */
export interface Correctness {
  accepted: number;
  deliveredOnce: number;
  missing: number;
  duplicates: number;
  /** Arrived at a sink although the relay refused the submission (or it never answered). */
  unexpected: number;
  /** Arrived without the sending domain's DKIM signature. */
  unsigned: number;
  /** Relay message ids of some missing messages, to look up. */
  missingSample: string[];
}

interface Entry {
  submission?: Submission;
  receipts: number;
  firstReceiptAt?: number;
  unsigned: boolean;
}

/** Every submission and every receipt of a run, by sequence header. */
export class Ledger {
  private readonly entries = new Map<string, Entry>();
  private readonly receiptTimes: number[] = [];
  private readonly completions: Submission[] = [];
  private strays = 0;
  offered = 0;

  submitted(): void {
    this.offered += 1;
  }

  completed(submission: Submission): void {
    this.entry(submission.sequence).submission = submission;
    this.completions.push(submission);
  }

  received(receipt: Receipt): void {
    if (!receipt.sequence.startsWith('s')) {
      this.strays += 1;
      return;
    }
    const entry = this.entry(receipt.sequence);
    entry.receipts += 1;
    entry.firstReceiptAt ??= receipt.at;
    entry.unsigned ||= !receipt.signed;
    this.receiptTimes.push(receipt.at);
  }

  /** One line on how the run goes so far, for the progress output. */
  progress(): string {
    let accepted = 0;
    let refused = 0;
    for (const s of this.completions) {
      accepted += s.code === 250 ? 1 : 0;
      refused += s.code === 250 ? 0 : 1;
    }
    return `${String(this.offered)} offered, ${String(accepted)} accepted, ${String(refused)} refused or failed, ${String(this.receiptTimes.length)} delivered`;
  }

  /** Receipts (duplicates included) from `from` on, until `to`. */
  deliveredBetween(from: number, to: number): number {
    return this.receiptTimes.filter((t) => t >= from && t < to).length;
  }

  /** Accepted messages not at a sink yet. */
  outstanding(): number {
    let n = 0;
    for (const e of this.entries.values()) {
      if (e.submission?.code === 250 && e.receipts === 0) {
        n += 1;
      }
    }
    return n;
  }

  window(from: number, to: number, offered: number): WindowStats {
    const seconds = (to - from) / 1000;
    const inWindow = this.completions.filter((s) => s.submittedAt >= from && s.submittedAt < to);
    const accepted = inWindow.filter((s) => s.code === 250);
    const delivered = this.deliveredBetween(from, to);
    const sinkLatencies: number[] = [];
    let backlogAtEnd = 0;
    for (const s of accepted) {
      const at = this.entries.get(s.sequence)?.firstReceiptAt;
      if (at !== undefined) {
        sinkLatencies.push(Math.max(0, at - s.completedAt));
      }
      if (at === undefined || at >= to) {
        backlogAtEnd += 1;
      }
    }
    const codes: Record<string, number> = {};
    for (const s of inWindow) {
      if (s.code !== undefined) {
        codes[String(s.code)] = (codes[String(s.code)] ?? 0) + 1;
      }
    }
    const timeouts = inWindow.filter((s) => s.code === undefined && s.timedOut === true).length;
    const dataToReply = inWindow
      .filter((s) => s.code !== undefined && s.endOfDataAt !== undefined)
      .map((s) => s.completedAt - (s.endOfDataAt ?? s.completedAt));
    return {
      seconds: Math.round(seconds * 10) / 10,
      offered,
      accepted: accepted.length,
      acceptedPerS: round(accepted.length / seconds),
      delivered,
      deliveredPerS: round(delivered / seconds),
      replies4xx: inWindow.filter((s) => s.code !== undefined && s.code >= 400 && s.code < 500).length,
      replies5xx: inWindow.filter((s) => s.code !== undefined && s.code >= 500).length,
      clientErrors: inWindow.filter((s) => s.code === undefined).length,
      codes,
      timeouts,
      connectionErrors: inWindow.filter((s) => s.code === undefined).length - timeouts,
      submitToReply: percentiles(inWindow.map((s) => s.completedAt - s.submittedAt)),
      dataToReply: percentiles(dataToReply),
      replyToSink: percentiles(sinkLatencies),
      backlogAtEnd,
    };
  }

  /**
   * After an overload that ended at `from`: how long until every submission was accepted again.
   * 0 when every submission from `from` until `to` got `250`; undefined when the last one did not
   * (not recovered), or none was made. Otherwise the time from `from` to the first submission after
   * the last one that was not accepted.
   */
  recoverySeconds(from: number, to: number): number | undefined {
    const phase = this.completions
      .filter((s) => s.submittedAt >= from && s.submittedAt < to)
      .sort((a, b) => a.submittedAt - b.submittedAt);
    const lastRefused = phase.map((s) => s.code === 250).lastIndexOf(false);
    if (phase.length === 0 || lastRefused === phase.length - 1) {
      return undefined;
    }
    const first = phase[lastRefused + 1];
    return first === undefined ? undefined : round(lastRefused < 0 ? 0 : (first.submittedAt - from) / 1000);
  }

  correctness(): Correctness {
    const result: Correctness = {
      accepted: 0,
      deliveredOnce: 0,
      missing: 0,
      duplicates: 0,
      unexpected: this.strays,
      unsigned: 0,
      missingSample: [],
    };
    for (const e of this.entries.values()) {
      const accepted = e.submission?.code === 250;
      result.accepted += accepted ? 1 : 0;
      result.unsigned += e.unsigned ? 1 : 0;
      result.duplicates += Math.max(0, e.receipts - 1);
      if (!accepted) {
        result.unexpected += e.receipts > 0 ? 1 : 0;
      } else if (e.receipts === 0) {
        result.missing += 1;
        if (result.missingSample.length < 10 && e.submission?.queueId !== undefined) {
          result.missingSample.push(e.submission.queueId);
        }
      } else {
        result.deliveredOnce += 1;
      }
    }
    return result;
  }

  private entry(sequence: string): Entry {
    let entry = this.entries.get(sequence);
    if (entry === undefined) {
      entry = { receipts: 0, unsigned: false };
      this.entries.set(sequence, entry);
    }
    return entry;
  }
}

export function percentiles(samples: readonly number[]): Percentiles {
  const sorted = [...samples].sort((a, b) => a - b);
  const at = (p: number): number => Math.round(percentile(sorted, p) * 10) / 10;
  return { count: sorted.length, p50: at(50), p95: at(95), p99: at(99), max: at(100) };
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}
