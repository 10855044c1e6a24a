import type { Db } from 'mongodb';
import type { SinkLedger } from './sink-ledger';
import type { Attempt, AttemptOutcome } from './traffic';

/** Message states that end the pipeline (docs/architecture.md, Message lifecycle). */
export const FINAL_MESSAGE_STATES = [
  'delivered',
  'partially_delivered',
  'bounced',
  'expired',
  'rejected_av',
  'rejected_spam',
  'rejected_policy',
  'quarantined',
  'held',
  'deleted',
];
const FINAL_RECIPIENT_STATES = ['delivered', 'bounced', 'expired', 'suppressed'];
const OUTCOME_EVENTS = ['delivery.succeeded', 'delivery.bounced', 'delivery.expired', 'delivery.suppressed'];

interface MessageRow {
  _id: string;
  state: string;
  reason?: string;
  possibleDuplicates?: number;
}
interface RecipientRow {
  _id: string;
  state: string;
  ambiguousAttempts?: number;
  lastReply?: string;
}

/** One recipient of one accepted attempt, as the sink and the database see it. */
export interface RecipientFinding {
  key: string;
  messageId: string;
  recipient: string;
  copies: number;
  recipientState: string;
  messageState: string;
  possibleDuplicates: number;
}

export interface AuditReport {
  messages: number;
  attempts: Record<AttemptOutcome, number> & { total: number };
  abandoned: string[];
  acceptedRecipients: number;
  deliveredOnce: number;
  /** No copy at the sink, and a final non-delivered outcome recorded (the scripted 550s). */
  recordedNotDelivered: number;
  /** Accepted (250), and neither at the sink nor with a final non-delivered outcome. */
  lost: RecipientFinding[];
  /** More than one copy, and the relay recorded a possible duplicate (the RFC 1047 window). */
  recordedDuplicates: RecipientFinding[];
  /** More than one copy, and nothing recorded it. */
  unexplainedDuplicates: RecipientFinding[];
  /** One copy, but recorded as something else than delivered. */
  inconsistent: RecipientFinding[];
  /** Copies at the sink of attempts that got no 250 (the client retried: a second copy). */
  ghosts: { key: string; outcome: AttemptOutcome; reply: string }[];
  /** Messages in the database without a final state. */
  unsettled: { id: string; state: string }[];
  /** Accepted recipients with a final state but no outcome event stored by reporting. */
  missingOutcomeEvents: { messageId: string; recipient: string }[];
  messageStates: Record<string, number>;
  unknownSinkCopies: number;
}

export async function auditRun(
  attempts: readonly Attempt[],
  abandoned: readonly string[],
  sink: SinkLedger,
  db: Db,
): Promise<AuditReport> {
  const messages = new Map(
    (
      await db
        .collection<MessageRow>('messages')
        .find({}, { projection: { state: 1, reason: 1, possibleDuplicates: 1 } })
        .toArray()
    ).map((m) => [m._id, m]),
  );
  const recipients = new Map(
    (
      await db
        .collection<RecipientRow>('recipients')
        .find({}, { projection: { state: 1, ambiguousAttempts: 1, lastReply: 1 } })
        .toArray()
    ).map((r) => [r._id, r]),
  );
  const events = new Set(
    (
      await db
        .collection<{ messageId?: string; recipient?: string }>('events')
        .find({ type: { $in: OUTCOME_EVENTS } }, { projection: { messageId: 1, recipient: 1 } })
        .toArray()
    ).map((e) => `${e.messageId ?? ''}/${(e.recipient ?? '').toLowerCase()}`),
  );
  const report = emptyReport(attempts, abandoned, sink);
  for (const attempt of attempts) {
    if (attempt.outcome !== 'accepted' || attempt.messageId === undefined) {
      continue;
    }
    const message = messages.get(attempt.messageId);
    for (const recipient of attempt.recipients) {
      const row = recipients.get(`${attempt.messageId}/${recipient}`);
      const finding: RecipientFinding = {
        key: attempt.key,
        messageId: attempt.messageId,
        recipient,
        copies: sink.copiesOf(attempt.key, recipient),
        recipientState: row?.state ?? 'missing',
        messageState: message?.state ?? 'missing',
        possibleDuplicates: message?.possibleDuplicates ?? 0,
      };
      report.acceptedRecipients += 1;
      classifyRecipient(report, finding, (row?.ambiguousAttempts ?? 0) > 0);
      if (
        FINAL_RECIPIENT_STATES.includes(finding.recipientState) &&
        !events.has(`${attempt.messageId}/${recipient}`)
      ) {
        report.missingOutcomeEvents.push({ messageId: attempt.messageId, recipient });
      }
    }
  }
  for (const key of sink.keys()) {
    const attempt = attempts.find((a) => a.key === key);
    if (attempt === undefined || attempt.outcome !== 'accepted') {
      report.ghosts.push({
        key,
        outcome: attempt?.outcome ?? 'no_reply',
        reply: attempt?.reply ?? 'unknown attempt',
      });
    }
  }
  for (const message of messages.values()) {
    report.messageStates[message.state] = (report.messageStates[message.state] ?? 0) + 1;
    if (!FINAL_MESSAGE_STATES.includes(message.state)) {
      report.unsettled.push({ id: message._id, state: message.state });
    }
  }
  return report;
}

function classifyRecipient(report: AuditReport, finding: RecipientFinding, ambiguous: boolean): void {
  if (finding.copies === 0) {
    if (['bounced', 'expired', 'suppressed'].includes(finding.recipientState)) {
      report.recordedNotDelivered += 1;
    } else {
      report.lost.push(finding);
    }
  } else if (finding.copies > 1) {
    (ambiguous || finding.possibleDuplicates > 0
      ? report.recordedDuplicates
      : report.unexplainedDuplicates
    ).push(finding);
  } else if (finding.recipientState === 'delivered') {
    report.deliveredOnce += 1;
  } else {
    report.inconsistent.push(finding);
  }
}

function emptyReport(
  attempts: readonly Attempt[],
  abandoned: readonly string[],
  sink: SinkLedger,
): AuditReport {
  const count = (outcome: AttemptOutcome): number => attempts.filter((a) => a.outcome === outcome).length;
  return {
    messages: new Set(attempts.map((a) => a.token)).size,
    attempts: {
      total: attempts.length,
      accepted: count('accepted'),
      temporary: count('temporary'),
      permanent: count('permanent'),
      no_reply: count('no_reply'),
    },
    abandoned: [...abandoned],
    acceptedRecipients: 0,
    deliveredOnce: 0,
    recordedNotDelivered: 0,
    lost: [],
    recordedDuplicates: [],
    unexplainedDuplicates: [],
    inconsistent: [],
    ghosts: [],
    unsettled: [],
    missingOutcomeEvents: [],
    messageStates: {},
    unknownSinkCopies: sink.unknown,
  };
}
