import type { RelayConfig } from '@ser/config';
import { jobIds, newMessageId } from '@ser/contracts';
import { MessageRepository, TenantConfigRepository } from '@ser/data';
import type { MessageStore } from '@ser/mongo';
import type { EventPublisher, QueueBus } from '@ser/queue';
import { CONFIG, EVENTS, LOGGER, MESSAGE_STORE, QUEUE_BUS } from '@ser/runtime';
import type { Logger } from '@ser/logger';
import { Inject, Injectable } from '@nestjs/common';
import type { Readable } from 'node:stream';
import type { AuthenticatedApp } from './authenticate.use-case';
import { HeaderCapture } from './header-capture';
import { checkSenderPolicy } from './sender-policy';
import { replies, SmtpReplyError } from './smtp-reply';

export interface Submission {
  app: AuthenticatedApp;
  mailFrom: string;
  rcptTo: string[];
  clientIp: string;
  tls: boolean;
}

const RETENTION_MS = 30 * 24 * 3600 * 1000;

/**
 * Stores a submitted message and queues it for scanning. Resolves with the message id only when
 * the body, the message record and the scan job are all durable (invariant 1); on any failure
 * nothing of the message is left behind and the client gets a 4xx or 5xx reply.
 */
@Injectable()
export class AcceptMessageUseCase {
  constructor(
    @Inject(CONFIG) private readonly settings: RelayConfig,
    @Inject(MESSAGE_STORE) private readonly store: MessageStore,
    @Inject(QUEUE_BUS) private readonly bus: QueueBus,
    @Inject(EVENTS) private readonly events: EventPublisher,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly config: TenantConfigRepository,
    private readonly messages: MessageRepository,
  ) {}

  async execute(body: Readable, submission: Submission): Promise<string> {
    const messageId = newMessageId();
    try {
      return await this.accept(messageId, body, submission);
    } catch (error) {
      await this.discard(messageId);
      const reply = error instanceof SmtpReplyError ? error : replies.notStored(error);
      await this.events.tryPublish({
        id: `${messageId}.refused`,
        type: 'message.refused',
        tenantId: submission.app.tenantId,
        appId: submission.app.appId,
        data: { reply: `${reply.responseCode} ${reply.message}`, clientIp: submission.clientIp },
      });
      throw reply;
    }
  }

  private async accept(messageId: string, body: Readable, submission: Submission): Promise<string> {
    const capture = new HeaderCapture(this.settings.SER_INGRESS_MAX_MESSAGE_BYTES);
    body.pipe(capture);
    const { size } = await this.store.put(messageId, capture, { tenantId: submission.app.tenantId });
    if (capture.exceeded) {
      throw replies.tooBig(this.settings.SER_INGRESS_MAX_MESSAGE_BYTES);
    }
    const app = await this.config.findApplication(submission.app.tenantId, submission.app.appId);
    if (app === null || app.status !== 'active') {
      throw replies.fromPolicy('The application is not active');
    }
    const summary = await checkSenderPolicy(capture.headerBlock, app, this.config);
    const now = new Date();
    await this.messages.create({
      _id: messageId,
      tenantId: submission.app.tenantId,
      appId: submission.app.appId,
      credentialId: submission.app.credentialId,
      envelope: { mailFrom: submission.mailFrom, rcptTo: submission.rcptTo },
      ...summary,
      size,
      state: 'accepted',
      client: { ip: submission.clientIp, tls: submission.tls },
      createdAt: now,
      updatedAt: now,
      expiresAt: new Date(now.getTime() + RETENTION_MS),
    });
    await this.bus.enqueue('scan', { v: 1, messageId }, jobIds.scan(messageId));
    // The scan job is the commitment point: from here on the message is accepted, and a lost
    // event must not turn into a 451 that makes the client send it a second time.
    const published = await this.events.tryPublish({
      id: `${messageId}.accepted`,
      type: 'message.accepted',
      tenantId: submission.app.tenantId,
      appId: submission.app.appId,
      messageId,
      data: {
        size,
        mailFrom: submission.mailFrom,
        headerFrom: summary.headerFrom,
        recipients: submission.rcptTo.length,
      },
    });
    if (!published) {
      this.logger.warn(
        { code: 'INGRESS_EVENT_NOT_QUEUED', messageId, eventType: 'message.accepted' },
        'event lost',
      );
    }
    return messageId;
  }

  /** Removes whatever was written for a message that was not accepted. */
  private async discard(messageId: string): Promise<void> {
    await Promise.allSettled([
      this.store.delete(messageId),
      this.messages.messages.deleteOne({ _id: messageId }),
      this.messages.recipients.deleteMany({ messageId }),
    ]);
  }
}
