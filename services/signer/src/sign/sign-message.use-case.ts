import { jobIds } from '@ser/contracts';
import { MessageRepository, TenantConfigRepository } from '@ser/data';
import type { MessageDocument } from '@ser/data';
import type { MessageStore } from '@ser/mongo';
import type { EventPublisher, JobContext, QueueBus } from '@ser/queue';
import { EVENTS, MESSAGE_STORE, QUEUE_BUS } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import { dkimSignatures } from '../dkim/dkim-signer';
import { SigningKeys } from '../dkim/signing-keys';

/**
 * DKIM-signs a message with the keys of its header From domain (or of its organisational
 * domain), so `d=` aligns with From and DMARC passes whatever the envelope sender is. Only the
 * signature headers are stored; the body is not copied. Without an active key, the tenant's
 * no-key policy holds the message (the default) or lets it go unsigned.
 */
@Injectable()
export class SignMessageUseCase {
  constructor(
    private readonly messages: MessageRepository,
    private readonly tenants: TenantConfigRepository,
    private readonly keys: SigningKeys,
    @Inject(MESSAGE_STORE) private readonly store: MessageStore,
    @Inject(QUEUE_BUS) private readonly bus: QueueBus,
    @Inject(EVENTS) private readonly events: EventPublisher,
  ) {}

  async execute(messageId: string, context: JobContext): Promise<void> {
    const message = await this.messages.findById(messageId);
    if (message === null) {
      context.logger.warn({ code: 'SIGNER_MESSAGE_MISSING' }, 'message record not found; job dropped');
      return;
    }
    context.logger = context.logger.child({ tenantId: message.tenantId, appId: message.appId });
    if (message.state === 'scanned') {
      await this.signOrHold(message, context);
    }
    const current = await this.messages.findById(messageId);
    if (current?.state === 'signed') {
      await this.enqueueDeliveries(current);
    }
  }

  /**
   * A failure (the key cannot be opened, the body cannot be read) is retried with the job's
   * backoff; after the last attempt the message is held with reason `sign_failed`, visible to
   * operators, who retry it once the cause is fixed (an operator's retry re-runs signing only).
   */
  private async signOrHold(message: MessageDocument, context: JobContext): Promise<void> {
    try {
      await this.sign(message, context);
    } catch (error) {
      if (context.attempt < context.maxAttempts) {
        throw error;
      }
      const detail = error instanceof Error ? error.message : String(error);
      if (await this.messages.transition(message._id, ['scanned'], 'held', { reason: 'sign_failed' })) {
        await this.events.publishMessageStage(
          message,
          'message.held',
          { reason: 'sign_failed', error: detail },
          message.round ?? 0,
        );
      }
      context.logger.error(
        { code: 'SIGNER_SIGN_FAILED', err: error },
        'signing failed on the last attempt; held',
      );
    }
  }

  private async sign(message: MessageDocument, context: JobContext): Promise<void> {
    const keys = await this.keys.forFrom(message.tenantId, message.fromDomain);
    if (keys.length === 0) {
      await this.withoutKey(message, context);
      return;
    }
    const headers = await dkimSignatures(this.store.open(message._id), keys);
    const [first] = keys;
    if (first === undefined) {
      return;
    }
    const dkim = {
      domain: first.domain,
      selector: first.selector,
      keyId: first.keyId,
      headers,
      signatures: keys.map((k) => ({
        domain: k.domain,
        selector: k.selector,
        keyId: k.keyId,
        algorithm: k.algorithm,
      })),
    };
    await this.messages.transition(message._id, ['scanned'], 'signed', { dkim });
    context.logger.info({ code: 'SIGNER_MESSAGE_SIGNED', selectors: keys.map((k) => k.selector) }, 'signed');
  }

  private async withoutKey(message: MessageDocument, context: JobContext): Promise<void> {
    const tenant = await this.tenants.findTenant(message.tenantId);
    const unsigned = { reason: 'dkim_key_missing' as const, domain: message.fromDomain };
    if (tenant?.dkimNoKeyPolicy === 'send_unsigned') {
      await this.messages.transition(message._id, ['scanned'], 'signed', { unsigned });
      context.logger.warn(
        { code: 'SIGNER_SENT_UNSIGNED', domain: message.fromDomain },
        'no active DKIM key; sent unsigned by the tenant policy',
      );
      return;
    }
    await this.messages.transition(message._id, ['scanned'], 'held', { reason: 'dkim_key_missing' });
    await this.events.publishMessageStage(message, 'message.held', unsigned, message.round ?? 0);
    context.logger.warn(
      { code: 'SIGNER_KEY_MISSING', domain: message.fromDomain },
      'no active DKIM key; held',
    );
  }

  /** One delivery job per recipient domain; job ids make a repeated enqueue a no-op. */
  private async enqueueDeliveries(message: MessageDocument): Promise<void> {
    const recipients = await this.messages.recipientsFor(message._id);
    const domains = [...new Set(recipients.map((r) => r.domain))];
    for (const domain of domains) {
      await this.bus.enqueue(
        'deliver',
        { v: 1, messageId: message._id, domain },
        jobIds.deliver(message._id, domain),
      );
    }
    const signed =
      message.dkim === undefined
        ? { unsigned: message.unsigned }
        : {
            domain: message.dkim.domain,
            selector: message.dkim.selector,
            signatures: (message.dkim.signatures ?? []).map(({ domain, selector, algorithm }) => ({
              domain,
              selector,
              algorithm,
            })),
          };
    await this.events.publishMessageStage(message, 'message.signed', { ...signed, domains });
  }
}
