import type { RelayConfig, ServiceName } from '@ser/config';
import { jobIds } from '@ser/contracts';
import type { MessageState } from '@ser/contracts';
import type { MessageRepository } from '@ser/data';
import type { Logger } from '@ser/logger';
import type { QueueBus } from '@ser/queue';
import { ReplicaTurn } from './replica-turn';

/** The stages before delivery: each waits in one message state for one job per message. */
export type PipelineStage = 'scan' | 'sign';

export interface StageReconcileResult {
  /** Messages waiting for the stage, untouched for the grace period, looked at. */
  checked: number;
  /** Jobs queued again because none was alive. */
  requeued: number;
}

/** The state a message waits in for the stage's job, and who runs it. */
const STAGES: Record<PipelineStage, { state: MessageState; service: ServiceName }> = {
  scan: { state: 'accepted', service: 'scanner' },
  sign: { state: 'scanned', service: 'signer' },
};

/** Job states in which BullMQ will still run the job. */
const LIVE = new Set(['waiting', 'delayed', 'active', 'prioritized', 'waiting-children']);
const PAGE = 500;

/**
 * Invariant 2 for the scan and sign stages: a message waiting in `accepted` (or `scanned`) whose
 * job Redis lost (a Redis restart that lost the last writes, a flushed or replaced Redis, a job
 * removed too early) would wait forever. Every `SER_PIPELINE_RECONCILE_INTERVAL_MS`, one replica of
 * the stage's service (a Redis turn lock) looks at the messages that have waited for longer than
 * `SER_PIPELINE_RECONCILE_GRACE_MS` and queues their job again when none is alive. The stage itself
 * decides from the record whether there is still work (a repeated job is a no-op), so re-queueing
 * is always safe, with any number of replicas. Delivery has its own (egress DeliveryReconciler).
 */
export abstract class StageJobReconciler extends ReplicaTurn<StageReconcileResult> {
  protected constructor(
    config: RelayConfig,
    logger: Logger,
    private readonly bus: QueueBus,
    private readonly messages: MessageRepository,
    private readonly stage: PipelineStage,
  ) {
    super(config, logger, {
      service: STAGES[stage].service,
      name: `reconcile-${stage}`,
      intervalMs: config.SER_PIPELINE_RECONCILE_INTERVAL_MS,
      failureCode: 'PIPELINE_RECONCILE_FAILED',
      failureText: `${stage} job reconciliation failed`,
    });
  }

  protected pass(now: Date): Promise<StageReconcileResult> {
    return this.reconcile(now.getTime());
  }

  async reconcile(now = Date.now()): Promise<StageReconcileResult> {
    const cutoff = new Date(now - this.config.SER_PIPELINE_RECONCILE_GRACE_MS);
    const result: StageReconcileResult = { checked: 0, requeued: 0 };
    const cursor = this.messages.messages
      .find({ state: STAGES[this.stage].state, updatedAt: { $lt: cutoff } }, { projection: { _id: 1 } })
      .sort({ _id: 1 })
      .batchSize(PAGE);
    const queue = this.bus.queue(this.stage);
    for await (const { _id: messageId } of cursor) {
      result.checked += 1;
      const jobId = jobIds[this.stage](messageId);
      const state = await queue.getJobState(jobId);
      if (LIVE.has(state)) {
        continue;
      }
      // A finished job keeps its id for a while (retention), which would make the new one a no-op.
      if (state === 'completed' || state === 'failed') {
        await (await queue.getJob(jobId))?.remove();
      }
      await this.bus.enqueue(this.stage, { v: 1, messageId }, jobId);
      result.requeued += 1;
      this.logger.warn(
        { code: 'PIPELINE_JOB_REQUEUED', stage: this.stage, messageId, jobState: state },
        `${this.stage} job re-created: the message was waiting without one`,
      );
    }
    return result;
  }
}
