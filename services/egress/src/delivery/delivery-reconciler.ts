import type { RelayConfig } from '@ser/config';
import { jobIds } from '@ser/contracts';
import { MessageRepository } from '@ser/data';
import type { Logger } from '@ser/logger';
import type { QueueBus } from '@ser/queue';
import { CONFIG, LOGGER, QUEUE_BUS, ReplicaTurn } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import { finalMessageState } from './final-state';

export interface ReconcileResult {
  /** Messages in `signed` or `delivering` looked at. */
  checked: number;
  /** Delivery jobs queued again because none was alive. */
  requeued: number;
  /** Messages whose recipients were all final, moved to their final state. */
  finished: number;
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
 * Everything it does is idempotent (job ids, conditional transitions), so overlapping runs are safe.
 */
@Injectable()
export class DeliveryReconciler extends ReplicaTurn<ReconcileResult> {
  constructor(
    @Inject(CONFIG) config: RelayConfig,
    @Inject(LOGGER) logger: Logger,
    @Inject(QUEUE_BUS) private readonly bus: QueueBus,
    private readonly messages: MessageRepository,
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
    const result: ReconcileResult = { checked: 0, requeued: 0, finished: 0 };
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
    if (result.requeued + result.finished > 0) {
      this.logger.warn(
        { code: 'EGRESS_RECONCILED', ...result },
        'delivery jobs re-created or messages finished',
      );
    }
    return result;
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
