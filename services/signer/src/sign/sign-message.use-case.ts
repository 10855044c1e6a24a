import { jobIds } from '@ser/contracts';
import { dkimKeyAad, MessageRepository, TenantConfigRepository } from '@ser/data';
import type { DkimKeyDocument, MessageDocument } from '@ser/data';
import type { MessageStore } from '@ser/mongo';
import type { EventPublisher, JobContext, QueueBus } from '@ser/queue';
import { EVENTS, MESSAGE_STORE, QUEUE_BUS } from '@ser/runtime';
import { SecretBox } from '@ser/security';
import { Inject, Injectable } from '@nestjs/common';
import { dkimSign } from 'mailauth/lib/dkim/sign';
import type { DKIMSignOptions } from 'mailauth';

export class DkimSigningError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DkimSigningError';
  }
}

/**
 * DKIM-signs a message with a key of its header From domain, so `d=` aligns with From and DMARC
 * passes whatever the envelope sender is. Only the signature header is stored; the body is not copied.
 */
@Injectable()
export class SignMessageUseCase {
  constructor(
    private readonly messages: MessageRepository,
    private readonly config: TenantConfigRepository,
    private readonly box: SecretBox,
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
    if (message.state === 'scanned') {
      await this.sign(message, context);
    }
    const current = await this.messages.findById(messageId);
    if (current?.state === 'signed') {
      await this.enqueueDeliveries(current);
    }
  }

  private async sign(message: MessageDocument, context: JobContext): Promise<void> {
    const key = await this.config.findActiveDkimKey(message.tenantId, message.fromDomain);
    if (key === null) {
      await this.messages.transition(message._id, ['scanned'], 'held', { reason: 'dkim_key_missing' });
      await this.events.publishMessageStage(
        message,
        'message.held',
        { reason: 'dkim_key_missing', domain: message.fromDomain },
        message.round ?? 0,
      );
      context.logger.warn(
        { code: 'SIGNER_KEY_MISSING', tenantId: message.tenantId },
        'no active DKIM key; held',
      );
      return;
    }
    const headers = await this.signatureHeaders(message, key);
    const dkim = { domain: key.domain, selector: key.selector, keyId: key._id, headers };
    await this.messages.transition(message._id, ['scanned'], 'signed', { dkim });
    context.logger.info(
      { code: 'SIGNER_MESSAGE_SIGNED', tenantId: message.tenantId, selector: key.selector },
      'signed',
    );
  }

  private async signatureHeaders(message: MessageDocument, key: DkimKeyDocument): Promise<string> {
    const privateKey = this.box.open(key.privateKey, dkimKeyAad(key._id));
    const options = {
      canonicalization: 'relaxed/relaxed',
      signatureData: [
        {
          signingDomain: key.domain,
          selector: key.selector,
          privateKey,
          algorithm: key.algorithm === 'ed25519' ? 'ed25519-sha256' : 'rsa-sha256',
          canonicalization: 'relaxed/relaxed',
        },
      ],
    } as unknown as DKIMSignOptions;
    const result = await dkimSign(this.store.open(message._id), options);
    if (result.errors.length > 0 || result.signatures.trim() === '') {
      throw new DkimSigningError('DKIM signing failed', { cause: result.errors[0] });
    }
    return result.signatures;
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
    await this.events.publishMessageStage(message, 'message.signed', {
      domain: message.dkim?.domain,
      selector: message.dkim?.selector,
      domains,
    });
  }
}
