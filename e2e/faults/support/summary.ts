import type { AuditReport } from './audit';
import type { PhaseResult } from './fault-run';

export interface RunResults {
  setupMs: number;
  totalMs: number;
  settled: boolean;
  settleMs: number;
  phases: PhaseResult[];
  failures: string[];
  report: AuditReport;
}

const seconds = (ms: number): string => `${(ms / 1000).toFixed(1)} s`;

/** The run in a few lines: what each fault cost, and the accounting of every accepted message. */
export function summarize(results: RunResults, dir: string): string {
  const { report } = results;
  const phaseLines = results.phases.map((p) => {
    const attempts = Object.entries(p.attempts)
      .map(([outcome, n]) => `${outcome} ${n}`)
      .join(', ');
    const notes = p.notes.length === 0 ? '' : ` [${p.notes.join('; ')}]`;
    return `  ${p.name.padEnd(52)} fault ${seconds(p.faultMs).padStart(7)}  recovery ${seconds(p.recoveryMs).padStart(7)}  (${attempts})${notes}`;
  });
  const list = (title: string, items: readonly unknown[]): string[] =>
    items.length === 0 ? [] : [`  ${title}:`, ...items.slice(0, 20).map((i) => `    ${JSON.stringify(i)}`)];
  return [
    `fault-injection run (files in ${dir})`,
    `  setup ${seconds(results.setupMs)}, total ${seconds(results.totalMs)}, settle after the stream stopped ${seconds(results.settleMs)}${results.settled ? '' : ' (NOT SETTLED)'}`,
    ...phaseLines,
    ...results.failures.map((f) => `  PHASE FAILED: ${f}`),
    `  messages ${report.messages}; attempts ${report.attempts.total}: 250 ${report.attempts.accepted}, 4xx ${report.attempts.temporary}, 5xx ${report.attempts.permanent}, no reply ${report.attempts.no_reply}; abandoned ${report.abandoned.length}`,
    `  accepted recipients ${report.acceptedRecipients}: delivered once ${report.deliveredOnce}, recorded not delivered ${report.recordedNotDelivered}, lost ${report.lost.length}, duplicates ${report.recordedDuplicates.length + report.unexplainedDuplicates.length} (recorded ${report.recordedDuplicates.length}, unrecorded ${report.unexplainedDuplicates.length}), inconsistent ${report.inconsistent.length}`,
    `  copies at the sink of attempts without a 250: ${report.ghosts.length}; unknown copies ${report.unknownSinkCopies}; outcome events missing ${report.missingOutcomeEvents.length}`,
    `  message states: ${JSON.stringify(report.messageStates)}; without a final state ${report.unsettled.length}`,
    ...list('lost', report.lost),
    ...list('recorded duplicates', report.recordedDuplicates),
    ...list('unrecorded duplicates', report.unexplainedDuplicates),
    ...list('inconsistent', report.inconsistent),
    ...list('copies of attempts without a 250', report.ghosts),
    ...list('without a final state', report.unsettled),
    ...list('outcome events missing', report.missingOutcomeEvents),
  ].join('\n');
}
