import { jobIds } from '@ser/contracts';
import type { MessageState } from '@ser/contracts';
import { AuditRepository, MessageRepository } from '@ser/data';
import type { MessageDocument } from '@ser/data';
import type { MessageStore } from '@ser/mongo';
import type { EventPublisher, QueueBus } from '@ser/queue';
import { EVENTS, MESSAGE_STORE, QUEUE_BUS } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import { orNotFound, problems } from '../http/problem';
import { retryStage } from './held-stage';
import type { RetryStage } from './held-stage';

type OperatorAction = NonNullable<MessageDocument['operatorAction']>;

/** What a release or retry answers: where the message went and in which round. */
export interface MessageActionView {
  id: string;
  tenantId: string;
  state: MessageState;
  previousState: MessageState;
  round: number;
  operatorAction: OperatorAction;
}

const DELETABLE: readonly MessageState[] = [
  'quarantined',
  'held',
  'rejected_av',
  'rejected_spam',
  'rejected_policy',
];

/** The state a message waits in for the job of `stage`. */
const STATE_BEFORE: Record<RetryStage, MessageState> = { scan: 'accepted', sign: 'scanned' };

/**
 * Operator decisions on quarantined, held and rejected messages. Each one is a conditional update
 * on the state and round the decision was taken on, so a repeated or concurrent request finds the
 * message moved and gets a 409 instead of a second job, audit entry or event.
 */
@Injectable()
export class MessageActionsService {
  constructor(
    private readonly messages: MessageRepository,
    private readonly audit: AuditRepository,
    @Inject(QUEUE_BUS) private readonly bus: QueueBus,
    @Inject(EVENTS) private readonly events: EventPublisher,
    @Inject(MESSAGE_STORE) private readonly store: MessageStore,
  ) {}

  /** Quarantined: on to signing, the scan verdict overruled. Held: a retry, so it is never unscanned. */
  async release(messageId: string, actor: string): Promise<MessageActionView> {
    const message = await this.find(messageId);
    if (message.state === 'held') {
      return this.requeue(message, 'retry', retryStage(message.reason), actor);
    }
    if (message.state !== 'quarantined') {
      throw problems.conflict(
        `the message is ${message.state}; only a quarantined or held message can be released`,
      );
    }
    return this.requeue(message, 'release', 'sign', actor);
  }

  async retry(messageId: string, actor: string): Promise<MessageActionView> {
    const message = await this.find(messageId);
    if (message.state !== 'held') {
      throw problems.conflict(`the message is ${message.state}; only a held message can be retried`);
    }
    return this.requeue(message, 'retry', retryStage(message.reason), actor);
  }

  /** The record stays, as `deleted`, for the timeline and reports; the body is removed. */
  async delete(messageId: string, actor: string): Promise<void> {
    const message = await this.find(messageId);
    if (!DELETABLE.includes(message.state)) {
      throw problems.conflict(
        `the message is ${message.state}; only a quarantined, held or rejected message can be deleted`,
      );
    }
    const round = message.round ?? 0;
    const operatorAction: OperatorAction = { action: 'delete', actor, at: new Date() };
    await this.move(message, 'deleted', { operatorAction });
    let bodyError: unknown;
    try {
      await this.store.delete(messageId);
    } catch (error) {
      bodyError = error;
    }
    const data = { actor, previousState: message.state, ...reasonOf(message) };
    await this.record(message, 'delete', {
      ...data,
      round,
      ...(bodyError === undefined ? {} : { bodyDeleted: false }),
    });
    await this.events.publishMessageStage(message, 'message.deleted', data, round);
    if (bodyError !== undefined) {
      throw new Error(`message ${messageId} is deleted but its body could not be removed`, {
        cause: bodyError,
      });
    }
  }

  private async requeue(
    message: MessageDocument,
    action: 'release' | 'retry',
    stage: RetryStage,
    actor: string,
  ): Promise<MessageActionView> {
    const jobId = jobIds[stage](message._id);
    await this.removeOldJob(stage, jobId);
    const previousRound = message.round ?? 0;
    const round = previousRound + 1;
    const operatorAction: OperatorAction = { action, actor, at: new Date() };
    const state = STATE_BEFORE[stage];
    await this.move(message, state, { round, operatorAction });
    try {
      await this.bus.enqueue(stage, { v: 1, messageId: message._id }, jobId);
    } catch (error) {
      // Without its job the message would wait in `state` for ever: put it back so the operator
      // can try again. A job that did get in finds the state moved back and does nothing.
      await this.messages.transitionSeen(
        message._id,
        { state, round },
        message.state,
        {
          round: previousRound,
          ...(message.operatorAction ? { operatorAction: message.operatorAction } : {}),
        },
        message.operatorAction ? [] : ['operatorAction'],
      );
      throw new Error(`the ${stage} job of message ${message._id} could not be queued`, { cause: error });
    }
    const data = { actor, previousState: message.state, ...reasonOf(message) };
    await this.record(message, action, { ...data, round, stage });
    await this.events.publishMessageStage(
      message,
      action === 'release' ? 'message.released' : 'message.retried',
      action === 'retry' ? { ...data, stage } : data,
      round,
    );
    return {
      id: message._id,
      tenantId: message.tenantId,
      state,
      previousState: message.state,
      round,
      operatorAction,
    };
  }

  /**
   * BullMQ keeps a finished job under its id for a while, and `add()` with that id is then a no-op:
   * the old scan or sign job of the message goes first. A job still running keeps its lock and
   * cannot be removed; the operator tries again once it has finished.
   */
  private async removeOldJob(stage: RetryStage, jobId: string): Promise<void> {
    const queue = this.bus.queue(stage);
    if ((await queue.remove(jobId)) === 0 && (await queue.getJob(jobId)) !== undefined) {
      throw problems.conflict(`the ${stage} job of the message is still running; try again shortly`);
    }
  }

  private async move(
    message: MessageDocument,
    to: MessageState,
    set: Partial<MessageDocument>,
  ): Promise<void> {
    const seen = { state: message.state, round: message.round ?? 0 };
    if (!(await this.messages.transitionSeen(message._id, seen, to, set))) {
      throw problems.conflict(`the message changed while this request ran; it is no longer ${seen.state}`);
    }
  }

  private async find(messageId: string): Promise<MessageDocument> {
    return orNotFound(await this.messages.findById(messageId), 'message');
  }

  private async record(
    message: MessageDocument,
    action: OperatorAction['action'],
    details: Record<string, unknown> & { actor: string },
  ): Promise<void> {
    const { actor, ...rest } = details;
    await this.audit.record({
      actor,
      action: `message.${action}`,
      tenantId: message.tenantId,
      target: { type: 'message', id: message._id },
      details: rest,
    });
  }
}

function reasonOf(message: MessageDocument): { reason?: string } {
  return message.reason === undefined ? {} : { reason: message.reason };
}
