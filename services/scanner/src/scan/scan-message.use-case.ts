import { jobIds } from '@ser/contracts';
import { MessageRepository } from '@ser/data';
import type { MessageDocument } from '@ser/data';
import type { MessageStore } from '@ser/mongo';
import type { EventPublisher, JobContext, QueueBus } from '@ser/queue';
import { EVENTS, MESSAGE_STORE, QUEUE_BUS } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { ClamdClient, ClamdUnavailableError } from './clamd-client';

/** Transient: the job is retried with backoff until ingress has committed the message. */
export class MessageNotAcceptedYetError extends Error {
  constructor(messageId: string) {
    super(`message ${messageId} is still being received`);
    this.name = 'MessageNotAcceptedYetError';
  }
}

/**
 * Scans one message for viruses and moves it on. Fail closed (invariant 4): if clamd cannot give
 * an answer the job is retried, and after the last attempt the message is held, never passed on.
 */
@Injectable()
export class ScanMessageUseCase {
  constructor(
    private readonly messages: MessageRepository,
    private readonly clamd: ClamdClient,
    @Inject(MESSAGE_STORE) private readonly store: MessageStore,
    @Inject(QUEUE_BUS) private readonly bus: QueueBus,
    @Inject(EVENTS) private readonly events: EventPublisher,
  ) {}

  async execute(messageId: string, context: JobContext): Promise<void> {
    const message = await this.committed(messageId);
    if (message === null) {
      context.logger.warn({ code: 'SCANNER_MESSAGE_MISSING' }, 'message record not found; job dropped');
      return;
    }
    if (message.state === 'receiving') {
      // Ingress queues the scan job a moment before it marks the record accepted; a record that
      // stays `receiving` was never accepted, and the ingress sweeper removes it.
      throw new MessageNotAcceptedYetError(messageId);
    }
    if (message.state === 'accepted') {
      await this.scan(message, context);
    }
    // Re-run after a crash between the state change and the enqueue: the job id makes it a no-op.
    const current = await this.messages.findById(messageId);
    if (current?.state === 'scanned') {
      await this.bus.enqueue('sign', { v: 1, messageId }, jobIds.sign(messageId));
      await this.events.publishMessageStage(current, 'message.scanned', { av: current.av });
    }
  }

  /**
   * The record, once ingress has marked it accepted. The job is queued a moment before that, so a
   * worker that is quick enough sees `receiving` for a few milliseconds: wait briefly rather than
   * take a backoff of seconds.
   */
  private async committed(messageId: string): Promise<MessageDocument | null> {
    let message = await this.messages.findById(messageId);
    for (let wait = 25; message?.state === 'receiving' && wait <= 800; wait *= 2) {
      await sleep(wait);
      message = await this.messages.findById(messageId);
    }
    return message;
  }

  private async scan(message: MessageDocument, context: JobContext): Promise<void> {
    try {
      const verdict = await this.clamd.scan(this.store.open(message._id));
      if (verdict.result === 'infected') {
        const av = { engine: 'clamav' as const, result: 'infected' as const, signature: verdict.signature };
        await this.messages.transition(message._id, ['accepted'], 'rejected_av', {
          av,
          reason: `virus: ${verdict.signature}`,
        });
        await this.events.publishMessageStage(message, 'message.rejected_av', {
          av,
          reason: `virus: ${verdict.signature}`,
        });
        context.logger.info({ code: 'SCANNER_VIRUS_FOUND', signature: verdict.signature }, 'virus found');
        return;
      }
      await this.messages.transition(message._id, ['accepted'], 'scanned', {
        av: { engine: 'clamav', result: 'clean' },
      });
    } catch (error) {
      if (!(error instanceof ClamdUnavailableError) || context.attempt < context.maxAttempts) {
        throw error;
      }
      await this.messages.transition(message._id, ['accepted'], 'held', { reason: 'av_unavailable' });
      await this.events.publishMessageStage(message, 'message.held', {
        reason: 'av_unavailable',
        error: error.message,
      });
      context.logger.error({ code: 'SCANNER_MESSAGE_HELD', err: error }, 'clamd unavailable; message held');
    }
  }
}
