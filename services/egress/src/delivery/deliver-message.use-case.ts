import type { RelayConfig } from '@ser/config';
import { MessageRepository, SuppressionRepository, TenantConfigRepository } from '@ser/data';
import type {
  MessageDocument,
  RecipientDocument,
  RecipientOutbox,
  RecipientResult,
  TenantDocument,
} from '@ser/data';
import type { JobContext } from '@ser/queue';
import { RetryLaterError } from '@ser/queue';
import { CONFIG } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import { DestinationLimits } from '../limits/destination-limits';
import { DeliveryTransport } from './delivery-transport';
import type { TransportOutcome } from './delivery-transport';
import { finalMessageState } from './final-state';
import { OutboxFlusher } from './outbox-flusher';
import { attemptOutbox, resultOf } from './outcomes';
import { retryUntil } from './record-retry';
import { nextAttempt } from './retry-schedule';
import type { RetryPolicy } from './retry-schedule';

/** How late past the queue lifetime a job may still make its last attempt. */
const EXPIRY_GRACE_MS = 60_000;

/** Delay before a job that found its destination busy (connection cap, rate limit) looks again. */
const BUSY_RETRY_MS = 1000;

/**
 * Delivers a message to the recipients of one domain. The recipient ledger is the source of
 * truth: a retried job only sends to recipients still pending or deferred (invariant 3); 4xx
 * recipients come back on the retry schedule until the queue lifetime ends, then expire.
 */
@Injectable()
export class DeliverMessageUseCase {
  private readonly retry: RetryPolicy;

  constructor(
    @Inject(CONFIG) private readonly config: RelayConfig,
    private readonly messages: MessageRepository,
    private readonly tenants: TenantConfigRepository,
    private readonly suppressions: SuppressionRepository,
    private readonly limits: DestinationLimits,
    private readonly transport: DeliveryTransport,
    private readonly flusher: OutboxFlusher,
  ) {
    this.retry = {
      schedule: config.SER_EGRESS_RETRY_SCHEDULE,
      jitter: config.SER_EGRESS_RETRY_JITTER,
      maxAgeMs: config.SER_EGRESS_MAX_AGE,
    };
  }

  async execute(messageId: string, domain: string, context: JobContext): Promise<void> {
    const message = await this.messages.findById(messageId);
    // Signed, deliberately unsigned (the tenant's no-key policy), or a DSN the relay wrote.
    if (
      message === null ||
      (message.dkim === undefined && message.unsigned === undefined && message.dsnFor === undefined)
    ) {
      context.logger.warn({ code: 'EGRESS_MESSAGE_MISSING' }, 'message not found or not signed; job dropped');
      return;
    }
    context.logger = context.logger.child({ tenantId: message.tenantId, appId: message.appId, domain });
    if (message.state !== 'signed' && message.state !== 'delivering') {
      context.logger.info({ code: 'EGRESS_MESSAGE_NOT_DELIVERABLE', state: message.state }, 'job dropped');
      return;
    }
    await this.messages.transition(messageId, ['signed'], 'delivering');
    const tenant = await this.tenants.findTenant(message.tenantId);
    const recipients = await this.messages.recipientsFor(messageId, domain);
    // Effects a crashed run recorded but did not get to carry out.
    await this.flusher.flush(
      message,
      tenant,
      recipients.filter((r) => r.outbox !== undefined),
    );
    let open = recipients.filter((r) => r.state === 'pending' || r.state === 'deferred');
    open = await this.recoverInterrupted(message, open, context);
    open = await this.dropSuppressed(message, tenant, open);
    const overdueMs = Date.now() - (message.createdAt.getTime() + this.retry.maxAgeMs);
    if (open.length > 0 && overdueMs > EXPIRY_GRACE_MS) {
      // Long out of time (the job kept waiting for a busy destination, say): no attempt now. The
      // retry scheduled at the deadline itself still makes its last attempt.
      await this.expire(message, tenant, open);
      open = [];
    }
    let deadline: number | undefined;
    if (open.length > 0) {
      const rate = await this.limits.takeMessage(domain);
      if (!rate.allowed) {
        context.logger.info({ code: 'EGRESS_DOMAIN_RATE_LIMITED' }, 'domain rate limit reached; later');
        await context.defer(rate.retryInMs + Math.random() * BUSY_RETRY_MS);
      }
      deadline = await this.deliver(message, tenant, domain, open, context);
    }
    await this.finish(
      message,
      tenant,
      domain,
      deadline ?? Date.now() + this.config.SER_EGRESS_RECORD_TIMEOUT_MS,
      context,
    );
  }

  private async deliver(
    message: MessageDocument,
    tenant: TenantDocument | null,
    domain: string,
    open: RecipientDocument[],
    context: JobContext,
  ): Promise<number | undefined> {
    const attempt = Math.max(...open.map((r) => r.attempts)) + 1;
    const addresses = open.map((r) => r.address);
    await this.messages.markInFlight(message._id, addresses, attempt);
    let outcome: TransportOutcome;
    try {
      outcome = await this.transport.deliver(message, tenant, domain, addresses);
    } catch (error) {
      // The transport throws only before a transaction (the store or DNS failing): nothing was
      // sent, so the attempt is not an interrupted one. The job retries.
      await this.messages.clearInFlight(message._id, addresses);
      throw error;
    }
    if (outcome.kind === 'capped') {
      await this.limits.returnMessage(domain);
      await this.messages.clearInFlight(message._id, addresses);
      context.logger.info(
        { code: 'EGRESS_MX_CONNECTIONS_CAPPED', host: outcome.host },
        'MX at its connection cap; later',
      );
      await context.defer(BUSY_RETRY_MS + Math.random() * 2 * BUSY_RETRY_MS);
      return undefined;
    }
    // From here on the outcome is known in memory only: a write that fails would make the job's
    // retry take the attempt for an interrupted one and send again, so each is retried until this
    // deadline before the job gives up (invariant 3).
    const deadline = Date.now() + this.config.SER_EGRESS_RECORD_TIMEOUT_MS;
    // The ledger first: the sooner a 250 is recorded, the smaller the window in which a crash
    // would send the message again.
    const now = new Date();
    const next = nextAttempt(this.retry, attempt, message.createdAt, now);
    const recorded: { address: string; outbox: RecipientOutbox; result: RecipientResult }[] = [];
    const results = new Map<RecipientResult['state'], number>();
    for (const [recipient, reply] of outcome.replies) {
      const result = resultOf(reply, next, outcome.ambiguous);
      results.set(result.state, (results.get(result.state) ?? 0) + 1);
      const outbox = attemptOutbox(message._id, recipient, reply, result, attempt, now, outcome.ambiguous);
      const write = { ...result, outbox, inFlightAttempt: attempt };
      if (await this.recordAttempt(message._id, recipient, write, deadline, context)) {
        recorded.push({ address: recipient, outbox, result });
      }
    }
    // A summary only: the ledger and the delivery.* events hold each recipient's reply.
    context.logger.info(
      { code: 'EGRESS_DELIVERY_ATTEMPTED', deliveryAttempt: attempt, results: Object.fromEntries(results) },
      'delivery attempted',
    );
    if (outcome.ambiguous) {
      // Not idempotent: a try applied whose reply was lost counts the duplicate twice, which errs
      // on the side the count is for.
      await this.durably(deadline, context, 'possible duplicate', () =>
        this.messages.countPossibleDuplicate(message._id),
      );
      context.logger.warn({ code: 'EGRESS_OUTCOME_AMBIGUOUS' }, 'no reply after the final dot; retrying');
    }
    for (const [index, connection] of outcome.attempts.entries()) {
      const { at, ...data } = connection;
      await this.flusher.publish(
        message,
        'delivery.attempted',
        `${domain}.${attempt}.${index}`,
        undefined,
        { domain, attempt, ...data },
        at,
      );
    }
    await this.durably(deadline, context, 'outbox', () => this.flusher.flush(message, tenant, recorded));
    let retryAt: Date | undefined;
    for (const { result } of recorded) {
      if (result.nextAttemptAt !== undefined && (retryAt === undefined || result.nextAttemptAt < retryAt)) {
        retryAt = result.nextAttemptAt;
      }
    }
    if (retryAt === undefined && recorded.length < outcome.replies.size) {
      // Another job recorded these recipients meanwhile; the ledger decides what is left.
      const ledger = await this.durably(deadline, context, 'ledger read', () =>
        this.messages.recipientsFor(message._id, domain),
      );
      retryAt = ledger.find((r) => r.state === 'deferred')?.nextAttemptAt;
    }
    if (retryAt !== undefined) {
      throw new RetryLaterError(
        `recipients of ${domain} deferred`,
        Math.max(0, retryAt.getTime() - Date.now()),
      );
    }
    return deadline;
  }

  /**
   * Records one recipient's result of this attempt, only while the recipient is still in flight
   * for it: so a try that was applied although it failed (its reply lost) is not applied again by
   * the next. When a later try finds nothing to update, the outbox it finds tells whether an
   * earlier try was applied (the result is ours to carry out) or another job recorded the recipient.
   */
  private recordAttempt(
    messageId: string,
    address: string,
    result: RecipientResult & { outbox: RecipientOutbox; inFlightAttempt: number },
    deadline: number,
    context: JobContext,
  ): Promise<boolean> {
    return this.durably(deadline, context, 'recipient result', async (tryNumber) => {
      if (await this.messages.recordRecipient(messageId, address, result)) {
        return true;
      }
      if (tryNumber === 1) {
        return false;
      }
      const current = await this.messages.findRecipient(messageId, address);
      return current?.outbox?.event.id === result.outbox.event.id;
    });
  }

  /** A write after the transaction, tried again (EGRESS_RECORD_RETRY) until `deadline`. */
  private durably<T>(
    deadline: number,
    context: JobContext,
    write: string,
    fn: (tryNumber: number) => Promise<T>,
  ): Promise<T> {
    return retryUntil(deadline, fn, ({ error, tryNumber, retryInMs }) => {
      context.logger.warn(
        { code: 'EGRESS_RECORD_RETRY', write, try: tryNumber, retryInMs: Math.round(retryInMs), err: error },
        'write after the transaction failed; trying again',
      );
    });
  }

  /**
   * Recipients a dead worker left in the middle of an attempt (SIGKILL, a lost node): whether the
   * receiver got the message is unknown, so the attempt counts as ambiguous (a possible duplicate,
   * counted conservatively: the worker may have died before DATA), and delivery goes on.
   */
  private async recoverInterrupted(
    message: MessageDocument,
    open: RecipientDocument[],
    context: JobContext,
  ): Promise<RecipientDocument[]> {
    const interrupted = open.filter((r) => r.inFlightAttempt !== undefined);
    let counted = false;
    for (const recipient of interrupted) {
      const attempt = recipient.inFlightAttempt ?? 0;
      if (!(await this.messages.recordInterrupted(message._id, recipient.address, attempt))) {
        continue;
      }
      if (!counted) {
        counted = true;
        await this.messages.countPossibleDuplicate(message._id);
        context.logger.warn(
          { code: 'EGRESS_ATTEMPT_INTERRUPTED', deliveryAttempt: attempt },
          'an earlier attempt was cut off; outcome unknown',
        );
      }
      const reply =
        '451 4.4.2 delivery interrupted: the worker stopped during the transaction; outcome unknown';
      await this.flusher.publish(
        message,
        'delivery.deferred',
        `${recipient.address}.${attempt}`,
        recipient.address,
        {
          reply,
          attempt,
          ambiguous: true,
        },
      );
    }
    return interrupted.length === 0
      ? open
      : (await this.messages.recipientsFor(message._id, open[0]?.domain)).filter(
          (r) => r.state === 'pending' || r.state === 'deferred',
        );
  }

  /** Open recipients whose queue lifetime ended before an attempt could be made. */
  private async expire(
    message: MessageDocument,
    tenant: TenantDocument | null,
    open: RecipientDocument[],
  ): Promise<void> {
    const recorded: { address: string; outbox: RecipientOutbox }[] = [];
    for (const recipient of open) {
      const last = recipient.lastReply === undefined ? '' : `; last reply: ${recipient.lastReply}`;
      const reply = `451 4.4.7 queue lifetime ended${last}`;
      const outbox: RecipientOutbox = {
        event: {
          id: `${message._id}.delivery.expired.${recipient.address}.${recipient.attempts}`,
          type: 'delivery.expired',
          at: new Date().toISOString(),
          data: { reply, attempt: recipient.attempts },
        },
        dsn: { reply, lastAttemptAt: recipient.updatedAt, expired: true },
      };
      const result = { state: 'expired', reply, attempted: false, outbox } as const;
      if (await this.messages.recordRecipient(message._id, recipient.address, result)) {
        recorded.push({ address: recipient.address, outbox });
      }
    }
    await this.flusher.flush(message, tenant, recorded);
  }

  /** Recipients on the tenant's suppression list are not sent to; each gets its final state and event. */
  private async dropSuppressed(
    message: MessageDocument,
    tenant: TenantDocument | null,
    open: RecipientDocument[],
  ): Promise<RecipientDocument[]> {
    if (open.length === 0) {
      return open;
    }
    const suppressed = await this.suppressions.activeAmong(
      message.tenantId,
      open.map((r) => r.address),
    );
    const recorded: { address: string; outbox: RecipientOutbox }[] = [];
    for (const [address, entry] of suppressed) {
      const reply = `550 5.7.1 recipient suppressed (${entry.reason}${entry.reply === undefined ? '' : `: ${entry.reply}`})`;
      const outbox: RecipientOutbox = {
        event: {
          id: `${message._id}.delivery.suppressed.${address}`,
          type: 'delivery.suppressed',
          at: new Date().toISOString(),
          data: { reply, reason: entry.reason },
        },
      };
      const result = { state: 'suppressed', reply, attempted: false, outbox } as const;
      if (await this.messages.recordRecipient(message._id, address, result)) {
        recorded.push({ address, outbox });
      }
    }
    await this.flusher.flush(message, tenant, recorded);
    return open.filter((r) => !suppressed.has(r.address));
  }

  /**
   * Moves the message to its final state once every recipient has one. First carries out any
   * outbox left on this domain's recipients: an outcome whose write landed late (the database
   * applied it after an earlier run of this job had failed and this one had read the ledger)
   * would otherwise keep its effects until the reconciler finds it.
   */
  private async finish(
    message: MessageDocument,
    tenant: TenantDocument | null,
    domain: string,
    deadline: number,
    context: JobContext,
  ): Promise<void> {
    await this.durably(deadline, context, 'finish', async () => {
      const recipients = await this.messages.recipientsFor(message._id);
      await this.flusher.flush(
        message,
        tenant,
        recipients.filter((r) => r.domain === domain && r.outbox !== undefined),
      );
      const state = finalMessageState(recipients);
      if (state !== undefined) {
        await this.messages.transition(message._id, ['delivering'], state);
      }
    });
  }
}
