import type { MessageRepository } from '@ser/data';
import type { Logger } from '@ser/logger';
import type { AcceptanceVerdicts } from '@ser/queue';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * The commit of a submission could not be confirmed, so it is refused (`451`). `refusalClaimed`:
 * the refusal is recorded in Redis, so the scanner will never take the message and its record may
 * be removed even if a late write made it `accepted`.
 */
export class CommitNotConfirmedError extends Error {
  constructor(
    messageId: string,
    readonly refusalClaimed: boolean,
    options?: { cause?: unknown },
  ) {
    super(`the commit of message ${messageId} could not be confirmed`, options);
    this.name = 'CommitNotConfirmedError';
  }
}

type Attempt = 'committed' | 'receiving' | 'gone' | 'deadline';

const FIRST_BACKOFF_MS = 100;
const MAX_BACKOFF_MS = 2000;

/**
 * The last step of a submission: the record's move from `receiving` to `accepted`, taken once the
 * scan job is in Redis. Once that write has been sent it may be applied even though the driver
 * reports a failure (a reply lost, a database that was stopped and resumes), and then the scanner
 * goes on. So a `451` here could be a lie that makes the client send the message twice (docs/faults.md,
 * finding 2). Instead:
 * - the write is retried with a short back-off for up to SER_INGRESS_COMMIT_TIMEOUT_MS (the client
 *   waits up to 10 minutes for the reply to the final dot, RFC 5321 4.5.3.2.6); a retry that
 *   matches nothing reads the record, and a record past `receiving` means an earlier try was applied;
 * - past the deadline, ingress claims the refusal in Redis before it answers `451`. The scanner
 *   claims `taken` when it first sees the record `accepted`; whoever is first wins, and if the
 *   scanner was, the message is durable and queued, so the answer is `250` after all.
 */
export class AcceptanceCommit {
  constructor(
    private readonly messages: MessageRepository,
    private readonly verdicts: AcceptanceVerdicts,
    private readonly timeoutMs: number,
  ) {}

  /** Resolves when `250` may be sent; rejects with CommitNotConfirmedError otherwise. */
  async commit(messageId: string, logger: Logger): Promise<void> {
    const deadline = Date.now() + this.timeoutMs;
    let lastError: unknown;
    for (let backoff = FIRST_BACKOFF_MS; ; backoff = Math.min(backoff * 2, MAX_BACKOFF_MS)) {
      let attempt: Attempt = 'receiving';
      try {
        attempt = await beforeDeadline(this.attempt(messageId), deadline);
      } catch (error) {
        lastError = error;
      }
      if (attempt === 'committed') {
        return;
      }
      if (attempt === 'gone') {
        // Nothing will scan a message without a record: a plain refusal.
        throw new CommitNotConfirmedError(messageId, false, {
          cause: new Error('the message record is gone'),
        });
      }
      const remaining = deadline - Date.now();
      if (remaining <= 0) {
        break;
      }
      await sleep(Math.min(backoff, remaining));
    }
    await this.arbitrate(messageId, lastError, logger);
  }

  private async attempt(messageId: string): Promise<Exclude<Attempt, 'deadline'>> {
    if (await this.messages.transition(messageId, ['receiving'], 'accepted')) {
      return 'committed';
    }
    // Nothing matched: an earlier try may have been applied although its reply never came.
    const record = await this.messages.messages.findOne({ _id: messageId }, { projection: { state: 1 } });
    if (record === null) {
      return 'gone';
    }
    return record.state === 'receiving' ? 'receiving' : 'committed';
  }

  private async arbitrate(messageId: string, cause: unknown, logger: Logger): Promise<void> {
    let verdict;
    try {
      verdict = await this.verdicts.claim(messageId, 'refused');
    } catch (error) {
      // Without the claim nothing stops the scanner if the commit was applied: the client may send
      // the message again (a duplicate), which is better than answering 250 for a message that may
      // never have been committed (a loss).
      logger.warn(
        { code: 'INGRESS_REFUSAL_NOT_RECORDED', err: error },
        'commit not confirmed and the refusal could not be recorded; the message may be delivered too',
      );
      throw new CommitNotConfirmedError(messageId, false, { cause });
    }
    if (verdict === 'taken') {
      logger.info(
        { code: 'INGRESS_COMMIT_CONFIRMED_BY_SCANNER', err: cause },
        'commit not confirmed, but the scanner had taken the message',
      );
      return;
    }
    throw new CommitNotConfirmedError(messageId, true, { cause });
  }
}

/**
 * `work`, or `deadline` if it has not settled by then. An abandoned attempt may still land later:
 * the refusal claimed in Redis is what makes that harmless.
 */
async function beforeDeadline<T>(work: Promise<T>, deadline: number): Promise<T | 'deadline'> {
  work.catch(() => undefined);
  const abort = new AbortController();
  const timer = sleep(Math.max(0, deadline - Date.now()), 'deadline' as const, { signal: abort.signal });
  try {
    return await Promise.race([work, timer]);
  } finally {
    abort.abort();
  }
}
