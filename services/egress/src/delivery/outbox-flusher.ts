import type { RelayConfig } from '@ser/config';
import type { EventType } from '@ser/contracts';
import { MessageRepository, SuppressionRepository } from '@ser/data';
import type { MessageDocument, RecipientOutbox, TenantDocument } from '@ser/data';
import type { EventPublisher } from '@ser/queue';
import { CONFIG, EVENTS } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import { DsnSender } from '../bounces/dsn-sender';
import type { DsnRecipient } from '../bounces/dsn-sender';

/** A recipient and what recording its outcome left to do, if anything. */
export interface OutboxEntry {
  address: string;
  outbox?: RecipientOutbox | undefined;
}

/**
 * Carries out what recording outcomes left to do (each recipient's outbox): the events, the
 * suppressions, one DSN for the failed ones; then clears the outboxes. Used by the delivery job
 * right after recording, and by the reconciler for outboxes a job left behind. Everything here may
 * run twice, also at once on two replicas: event ids, the suppression upsert and the DSN id are all
 * idempotent, and an outbox is cleared only while it is still the one carried out.
 */
@Injectable()
export class OutboxFlusher {
  constructor(
    @Inject(CONFIG) private readonly config: RelayConfig,
    private readonly messages: MessageRepository,
    private readonly suppressions: SuppressionRepository,
    private readonly dsn: DsnSender,
    @Inject(EVENTS) private readonly events: EventPublisher,
  ) {}

  async flush(
    message: MessageDocument,
    tenant: TenantDocument | null,
    entries: readonly OutboxEntry[],
  ): Promise<void> {
    const failed: DsnRecipient[] = [];
    const done: { address: string; eventId: string }[] = [];
    for (const { address, outbox } of entries) {
      if (outbox === undefined) {
        continue;
      }
      const { event } = outbox;
      await this.publish(message, event.type as EventType, '', address, event.data, event.at, event.id);
      if (outbox.suppress !== undefined) {
        await this.suppress(message, tenant, address, outbox.suppress.reply);
      }
      if (outbox.dsn !== undefined) {
        failed.push({ address, ...outbox.dsn });
      }
      done.push({ address, eventId: event.id });
    }
    if (failed.length > 0 && tenant?.dsn === true) {
      await this.dsn.send(message, failed);
    }
    if (done.length > 0) {
      await this.messages.clearOutbox(message._id, done);
    }
  }

  /** Publishes an event about the message; its id is `<messageId>.<type>.<idSuffix>` unless given. */
  async publish(
    message: MessageDocument,
    type: EventType,
    idSuffix: string,
    recipient: string | undefined,
    data: Record<string, unknown>,
    at?: string,
    id = `${message._id}.${type}.${idSuffix}`,
  ): Promise<void> {
    await this.events.publish({
      id,
      type,
      tenantId: message.tenantId,
      appId: message.appId,
      messageId: message._id,
      ...(recipient === undefined ? {} : { recipient }),
      ...(at === undefined ? {} : { at }),
      data,
    });
  }

  private async suppress(
    message: MessageDocument,
    tenant: TenantDocument | null,
    address: string,
    reply: string,
  ): Promise<void> {
    const days = tenant?.suppressionDays ?? this.config.SER_EGRESS_SUPPRESSION_DAYS;
    if (days === 0) {
      return;
    }
    const now = new Date();
    await this.suppressions.add({
      tenantId: message.tenantId,
      address,
      reason: 'hard_bounce',
      reply,
      messageId: message._id,
      createdAt: now,
      expiresAt: new Date(now.getTime() + days * 86_400_000),
    });
  }
}
