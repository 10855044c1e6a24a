import type { RelayConfig } from '@ser/config';
import { jobIds } from '@ser/contracts';
import { MessageRepository, TenantConfigRepository } from '@ser/data';
import type { RecipientDocument } from '@ser/data';
import type { Logger } from '@ser/logger';
import type { QueueBus } from '@ser/queue';
import { CONFIG, LOGGER, QUEUE_BUS, ReplicaTurn } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import { finalMessageState } from './final-state';
import { OutboxFlusher } from './outbox-flusher';

export interface ReconcileResult {
  /** Messages in `signed` or `delivering` looked at. */
  checked: number;
  /** Delivery jobs queued again because none was alive. */
  requeued: number;
  /** Messages whose recipients were all final, moved to their final state. */
  finished: number;
  /** Recipients whose outbox (event, suppression, DSN entry) a job left behind, carried out. */
  flushed: number;
}

/** Job states in which BullMQ will still run the job. */
const LIVE = new Set(['waiting', 'delayed', 'active', 'prioritized', 'waiting-children']);
const PAGE = 500;

/**
 * Invariant 2 for delivery: MongoDB is the system of record, Redis is rebuildable. Every
 * `SER_EGRESS_RECONCILE_INTERVAL_MS`, one egress replica (a Redis turn lock) looks at the messages
 * still being delivered and untouched for `SER_EGRESS_RECONCILE_GRACE_MS`: a recipient domain with
 * open recipients but no live delivery job (Redis lost it, or BullMQ failed it) gets its job again,
 * and a message whose recipients are all final but whose state was never moved is finished.
 * Whatever the message's state, a recipient outbox untouched for as long (a result whose write
 * landed after its job had given up on it, say) is carried out. Everything it does is idempotent
 * (job ids, conditional transitions, event ids), so overlapping runs are safe.
 */
@Injectable()
export class DeliveryReconciler extends ReplicaTurn<ReconcileResult> {
  constructor(
    @Inject(CONFIG) config: RelayConfig,
    @Inject(LOGGER) logger: Logger,
    @Inject(QUEUE_BUS) private readonly bus: QueueBus,
    private readonly messages: MessageRepository,
    private readonly tenants: TenantConfigRepository,
    private readonly flusher: OutboxFlusher,
  ) {
    super(config, logger, {
      service: 'egress',
      name: 'reconcile',
      intervalMs: config.SER_EGRESS_RECONCILE_INTERVAL_MS,
      failureCode: 'EGRESS_RECONCILE_FAILED',
      failureText: 'delivery reconciliation failed',
    });
  }

  /** One run, unless another replica holds the turn for this interval. */
  reconcileIfOurTurn(): Promise<ReconcileResult | undefined> {
    return this.runIfOurTurn();
  }

  protected pass(now: Date): Promise<ReconcileResult> {
    return this.reconcile(now.getTime());
  }

  async reconcile(now = Date.now()): Promise<ReconcileResult> {
    const cutoff = new Date(now - this.config.SER_EGRESS_RECONCILE_GRACE_MS);
    const result: ReconcileResult = { checked: 0, requeued: 0, finished: 0, flushed: 0 };
    await this.flushLeftOutboxes(cutoff, result);
    const cursor = this.messages.messages
      .find(
        { state: { $in: ['signed', 'delivering'] }, updatedAt: { $lt: cutoff } },
        { projection: { _id: 1 } },
      )
      .sort({ _id: 1 })
      .batchSize(PAGE);
    for await (const { _id } of cursor) {
      result.checked += 1;
      await this.reconcileMessage(_id, result);
    }
    if (result.requeued + result.finished + result.flushed > 0) {
      this.logger.warn(
        { code: 'EGRESS_RECONCILED', ...result },
        'delivery jobs re-created, messages finished or outboxes carried out',
      );
    }
    return result;
  }

  /** Outboxes older than the cutoff, carried out a page at a time, grouped by message. */
  private async flushLeftOutboxes(cutoff: Date, result: ReconcileResult): Promise<void> {
    let page = new Map<string, RecipientDocument[]>();
    let size = 0;
    for await (const recipient of this.messages.outboxesLeftBefore(cutoff, PAGE)) {
      page.set(recipient.messageId, [...(page.get(recipient.messageId) ?? []), recipient]);
      size += 1;
      if (size === PAGE) {
        await this.flushPage(page, result);
        page = new Map();
        size = 0;
      }
    }
    await this.flushPage(page, result);
  }

  private async flushPage(page: Map<string, RecipientDocument[]>, result: ReconcileResult): Promise<void> {
    for (const [messageId, recipients] of page) {
      const message = await this.messages.findById(messageId);
      if (message === null) {
        // Its record is gone (retention): nothing left to report the outcome about.
        await this.messages.clearOutbox(messageId, outboxIds(recipients));
        continue;
      }
      const tenant = await this.tenants.findTenant(message.tenantId);
      await this.flusher.flush(message, tenant, recipients);
      result.flushed += recipients.length;
    }
  }

  private async reconcileMessage(messageId: string, result: ReconcileResult): Promise<void> {
    const recipients = await this.messages.recipientsFor(messageId);
    const openDomains = new Set(
      recipients.filter((r) => r.state === 'pending' || r.state === 'deferred').map((r) => r.domain),
    );
    if (openDomains.size === 0) {
      const state = finalMessageState(recipients);
      if (
        state !== undefined &&
        (await this.messages.transition(messageId, ['signed', 'delivering'], state))
      ) {
        result.finished += 1;
      }
      return;
    }
    const queue = this.bus.queue('deliver');
    for (const domain of openDomains) {
      const jobId = jobIds.deliver(messageId, domain);
      const state = await queue.getJobState(jobId);
      if (LIVE.has(state)) {
        continue;
      }
      // A finished job keeps its id for a while (retention), which would make the new one a no-op.
      if (state === 'completed' || state === 'failed') {
        await (await queue.getJob(jobId))?.remove();
      }
      await this.bus.enqueue('deliver', { v: 1, messageId, domain }, jobId);
      result.requeued += 1;
    }
  }
}

function outboxIds(recipients: readonly RecipientDocument[]): { address: string; eventId: string }[] {
  return recipients.flatMap((r) =>
    r.outbox === undefined ? [] : [{ address: r.address, eventId: r.outbox.event.id }],
  );
}
