import type { EventType } from '@ser/contracts';
import { MessageRepository } from '@ser/data';
import type { MessageDocument, RecipientDocument } from '@ser/data';
import type { MessageStore } from '@ser/mongo';
import type { EventPublisher, JobContext } from '@ser/queue';
import { EVENTS, MESSAGE_STORE } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import { PassThrough } from 'node:stream';
import type { Readable } from 'node:stream';
import { DnsTemporaryError, MxResolver } from './mx-resolver';
import type { MxHost, MxLookup } from './mx-resolver';
import { SmtpDelivery } from './smtp-delivery';
import type { RecipientReply } from './smtp-delivery';
import { finalMessageState } from './final-state';

export class DeliveryDeferredError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'DeliveryDeferredError';
  }
}

/**
 * Delivers a message to the recipients of one domain. The recipient ledger is the source of
 * truth: a retried job only sends to recipients still pending or deferred (invariant 3).
 */
@Injectable()
export class DeliverMessageUseCase {
  constructor(
    private readonly messages: MessageRepository,
    private readonly mx: MxResolver,
    private readonly smtp: SmtpDelivery,
    @Inject(MESSAGE_STORE) private readonly store: MessageStore,
    @Inject(EVENTS) private readonly events: EventPublisher,
  ) {}

  async execute(messageId: string, domain: string, context: JobContext): Promise<void> {
    const message = await this.messages.findById(messageId);
    // Signed, or deliberately unsigned by the tenant's no-key policy; anything else never passed the signer.
    if (message === null || (message.dkim === undefined && message.unsigned === undefined)) {
      context.logger.warn({ code: 'EGRESS_MESSAGE_MISSING' }, 'message not found or not signed; job dropped');
      return;
    }
    await this.messages.transition(messageId, ['signed'], 'delivering');
    const open = (await this.messages.recipientsFor(messageId, domain)).filter(
      (r) => r.state === 'pending' || r.state === 'deferred',
    );
    if (open.length > 0) {
      const replies = await this.attempt(message, domain, open);
      const lastAttempt = context.attempt >= context.maxAttempts;
      await this.record(message, replies, context.attempt, lastAttempt);
      const deferred = replies.filter((r) => r.code < 500 && r.code >= 400);
      if (deferred.length > 0 && !lastAttempt) {
        throw new DeliveryDeferredError(`${deferred.length} recipient(s) of ${domain} deferred`);
      }
    }
    await this.finish(messageId);
  }

  private async attempt(
    message: MessageDocument,
    domain: string,
    recipients: RecipientDocument[],
  ): Promise<RecipientReply[]> {
    const to = recipients.map((r) => r.address);
    let lookup: MxLookup;
    try {
      lookup = await this.mx.lookup(domain);
    } catch (error) {
      // A DNS failure is temporary for every recipient of the domain: deferred, then bounced
      // after the last attempt like any other 4xx, never left pending.
      if (!(error instanceof DnsTemporaryError)) {
        throw error;
      }
      return to.map((recipient) => ({ recipient, code: 451, reply: `4.4.3 ${error.message}` }));
    }
    if (lookup.kind === 'permanent') {
      return to.map((recipient) => ({ recipient, code: 550, reply: `5.1.2 ${lookup.reason}` }));
    }
    let replies: RecipientReply[] = to.map((recipient) => ({
      recipient,
      code: 451,
      reply: `4.4.4 no reachable MX for ${domain}`,
    }));
    for (const target of targets(lookup.hosts)) {
      replies = (await this.smtp.send(target, { from: message.envelope.mailFrom, to }, this.raw(message)))
        .replies;
      // Try the next host only when nothing was decided here (connection refused, 4xx greeting...).
      if (replies.some((r) => r.code < 400 || r.code >= 500)) {
        break;
      }
    }
    return replies;
  }

  /** Signature headers followed by the stored body, streamed: the body is never copied. */
  private raw(message: MessageDocument): Readable {
    const out = new PassThrough();
    out.write(message.dkim?.headers ?? '');
    this.store
      .open(message._id)
      .on('error', (error) => out.destroy(error))
      .pipe(out);
    return out;
  }

  private async record(
    message: MessageDocument,
    replies: RecipientReply[],
    attempt: number,
    lastAttempt: boolean,
  ): Promise<void> {
    for (const reply of replies) {
      const state =
        reply.code < 400 ? 'delivered' : reply.code >= 500 || lastAttempt ? 'bounced' : 'deferred';
      const changed = await this.messages.recordRecipient(message._id, reply.recipient, {
        state,
        reply: `${reply.code} ${reply.reply}`,
      });
      if (!changed) {
        continue;
      }
      const type: EventType =
        state === 'delivered'
          ? 'delivery.succeeded'
          : state === 'bounced'
            ? 'delivery.bounced'
            : 'delivery.deferred';
      await this.events.publish({
        id: `${message._id}.${type}.${reply.recipient}.${attempt}`,
        type,
        tenantId: message.tenantId,
        appId: message.appId,
        messageId: message._id,
        recipient: reply.recipient,
        data: { reply: `${reply.code} ${reply.reply}`, attempt },
      });
    }
  }

  private async finish(messageId: string): Promise<void> {
    const state = finalMessageState(await this.messages.recipientsFor(messageId));
    if (state !== undefined) {
      await this.messages.transition(messageId, ['delivering'], state);
    }
  }
}

function* targets(hosts: MxHost[]): Generator<{ address: string; name: string }> {
  for (const host of hosts) {
    for (const address of host.addresses) {
      yield { address, name: host.name };
    }
  }
}
