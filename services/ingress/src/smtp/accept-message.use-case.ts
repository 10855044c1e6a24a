import type { RelayConfig } from '@ser/config';
import { jobIds, newMessageId } from '@ser/contracts';
import type { MessageState } from '@ser/contracts';
import { MessageRepository } from '@ser/data';
import type { ApplicationDocument, MessageDocument } from '@ser/data';
import type { Logger } from '@ser/logger';
import { senderKeys, subjectHash } from '@ser/mail';
import type { MessageStore } from '@ser/mongo';
import { AcceptanceVerdicts } from '@ser/queue';
import type { QueueBus } from '@ser/queue';
import { CONFIG, LOGGER, MESSAGE_STORE, QUEUE_BUS } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream';
import { INGRESS_REDIS } from '../ingress.tokens';
import { SmtpDataGuard } from '../message/data-guard';
import type { DataViolation } from '../message/data-guard';
import { HeaderRewriter } from '../message/header-rewriter';
import { receivedHeader } from '../message/received-header';
import { AcceptanceCommit, CommitNotConfirmedError } from './acceptance-commit';
import type { AuthenticatedApp } from './authenticate.use-case';
import { AuthenticateUseCase } from './authenticate.use-case';
import { detectBulk } from './bulk-policy';
import { IngressEvents } from './ingress-events';
import { checkSenderPolicy } from './sender-policy';
import type { HeaderSummary } from './sender-policy';
import { replies, SmtpReplyError } from './smtp-reply';
import { TenantConfigRepository } from '@ser/data';

export interface Submission {
  app: AuthenticatedApp;
  mailFrom: string;
  rcptTo: string[];
  clientIp: string;
  clientHostname?: string;
  heloName?: string;
  tls: { protocol: string; cipher: string } | undefined;
}

const RETENTION_MS = 30 * 24 * 3600 * 1000;

/**
 * Stores a submitted message and queues it for scanning. Resolves with the message id only when
 * the body, the message record and the scan job are all durable (invariant 1). The record is
 * written as `receiving` and becomes `accepted` only after the scan job is in Redis: a record left
 * `receiving` (a crash, or a failed clean-up) was never promised to the client, and the sweeper
 * removes it; the scanner waits for `accepted`. That last move is retried and, if it cannot be
 * confirmed, arbitrated with the scanner (AcceptanceCommit), so that a `451` always means "not taken".
 */
@Injectable()
export class AcceptMessageUseCase {
  private readonly commit: AcceptanceCommit;

  constructor(
    @Inject(CONFIG) private readonly settings: RelayConfig,
    @Inject(MESSAGE_STORE) private readonly store: MessageStore,
    @Inject(QUEUE_BUS) private readonly bus: QueueBus,
    private readonly events: IngressEvents,
    private readonly authenticate: AuthenticateUseCase,
    private readonly config: TenantConfigRepository,
    private readonly messages: MessageRepository,
    @Inject(INGRESS_REDIS) redis: Redis,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {
    this.commit = new AcceptanceCommit(
      messages,
      new AcceptanceVerdicts(redis, settings.SER_QUEUE_PREFIX),
      settings.SER_INGRESS_COMMIT_TIMEOUT_MS,
    );
  }

  /** `messageId` is the caller's when it logs about the message whatever the outcome. */
  async execute(body: Readable, submission: Submission, messageId = newMessageId()): Promise<string> {
    try {
      return await this.accept(messageId, body, submission);
    } catch (error) {
      // Once the refusal is claimed the scanner never takes the message, whatever state a late
      // write left its record in; otherwise only a record still `receiving` was never promised.
      const refused = error instanceof CommitNotConfirmedError && error.refusalClaimed;
      await this.discard(messageId, refused ? ['receiving', 'accepted'] : ['receiving']);
      const reply = error instanceof SmtpReplyError ? error : replies.notStored(error);
      this.events.emit({
        id: `${messageId}.refused`,
        type: 'message.refused',
        tenantId: submission.app.tenantId,
        appId: submission.app.appId,
        data: {
          reason: reply.reason,
          reply: `${reply.responseCode} ${reply.message}`,
          clientIp: submission.clientIp,
        },
      });
      throw reply;
    }
  }

  private async accept(messageId: string, body: Readable, submission: Submission): Promise<string> {
    const { size, headerBlock } = await this.storeBody(messageId, body, submission);
    const application = await this.authenticate.stillAuthorised(submission.app, submission.clientIp);
    if (application === null) {
      throw replies.fromPolicy('The credential or application is no longer active');
    }
    const summary = await checkSenderPolicy(headerBlock, application, this.config);
    const bulk = this.bulkVerdict(headerBlock, submission, application);
    const now = new Date();
    await this.messages.create({
      _id: messageId,
      tenantId: submission.app.tenantId,
      appId: submission.app.appId,
      credentialId: submission.app.credentialId,
      envelope: { mailFrom: submission.mailFrom, rcptTo: submission.rcptTo },
      ...summaryFields(summary),
      senders: senderKeys(summary.headerFrom, submission.mailFrom),
      ...(bulk === undefined ? {} : { bulk: true }),
      size,
      state: 'receiving',
      client: { ip: submission.clientIp, tls: submission.tls !== undefined },
      createdAt: now,
      updatedAt: now,
      expiresAt: new Date(now.getTime() + RETENTION_MS),
    });
    await this.bus.enqueue('scan', { v: 1, messageId }, jobIds.scan(messageId));
    await this.commit.commit(
      messageId,
      this.logger.child({ messageId, tenantId: submission.app.tenantId, appId: submission.app.appId }),
    );
    this.recordAcceptance(messageId, submission, summary, size, bulk);
    return messageId;
  }

  /** Streams the body to the store through the protocol guards and the header rewriter. */
  private async storeBody(
    messageId: string,
    body: Readable,
    submission: Submission,
  ): Promise<{ size: number; headerBlock: string }> {
    const maxBytes = this.settings.SER_INGRESS_MAX_MESSAGE_BYTES;
    const guard = new SmtpDataGuard({ maxBytes });
    const rewriter = new HeaderRewriter({
      prepend: [
        receivedHeader({
          heloName: submission.heloName,
          clientIp: submission.clientIp,
          ...(submission.clientHostname ? { clientHostname: submission.clientHostname } : {}),
          byHost: this.settings.SER_HOSTNAME,
          tls: submission.tls,
          appId: submission.app.appId,
          messageId,
          date: new Date(),
        }),
      ],
      messageIdDomain: this.settings.SER_HOSTNAME,
      messageId,
    });
    // pipeline, not pipe: a client that disconnects mid-DATA must fail the upload, not stall it.
    const source = pipeline(body, guard, rewriter, () => undefined);
    const { size } = await this.store.put(messageId, source, { tenantId: submission.app.tenantId });
    throwOnViolation(guard.violation, maxBytes);
    if (rewriter.violation !== undefined) {
      throw replies.headerTooBig(256 * 1024);
    }
    return { size, headerBlock: rewriter.headerBlock };
  }

  private bulkVerdict(
    headerBlock: string,
    submission: Submission,
    application: ApplicationDocument,
  ): string | undefined {
    const why = detectBulk(headerBlock, submission.rcptTo.length, this.settings.SER_INGRESS_BULK_RECIPIENTS);
    if (why !== undefined && (application.bulkPolicy ?? 'reject') === 'reject') {
      throw replies.bulk(why);
    }
    return why;
  }

  private recordAcceptance(
    messageId: string,
    submission: Submission,
    summary: HeaderSummary,
    size: number,
    bulk: string | undefined,
  ): void {
    const scope = { tenantId: submission.app.tenantId, appId: submission.app.appId, messageId };
    if (bulk !== undefined) {
      this.events.emit({ id: `${messageId}.flagged`, type: 'message.flagged', ...scope, data: { bulk } });
    }
    this.events.emit({
      id: `${messageId}.accepted`,
      type: 'message.accepted',
      ...scope,
      data: {
        size,
        mailFrom: submission.mailFrom,
        headerFrom: summary.headerFrom,
        recipients: submission.rcptTo.length,
      },
    });
  }

  /**
   * Removes whatever was written for a message that was not accepted: the record if it is in one of
   * `states`, and the body and ledger only if the record is gone (deleted here, or never written).
   * A record that has moved on (a commit applied late, and the scanner not stopped) keeps them.
   */
  private async discard(messageId: string, states: readonly MessageState[]): Promise<void> {
    try {
      const { deletedCount } = await this.messages.messages.deleteOne({
        _id: messageId,
        state: { $in: [...states] },
      });
      if (deletedCount === 0 && (await this.messages.messages.findOne({ _id: messageId })) !== null) {
        return;
      }
    } catch {
      return; // the database is unreachable: the sweeper (or the scanner, once refused) removes what is left
    }
    await Promise.allSettled([
      this.store.delete(messageId),
      this.messages.recipients.deleteMany({ messageId }),
    ]);
  }
}

function summaryFields(
  summary: HeaderSummary,
): Pick<MessageDocument, 'headerFrom' | 'fromDomain' | 'subject' | 'subjectHash'> {
  return {
    headerFrom: summary.headerFrom,
    fromDomain: summary.fromDomain,
    ...(summary.subject === undefined
      ? {}
      : { subject: summary.subject, subjectHash: subjectHash(summary.subject) }),
  };
}

function throwOnViolation(violation: DataViolation | undefined, maxBytes: number): void {
  switch (violation) {
    case undefined:
      return;
    case 'too_big':
      throw replies.tooBig(maxBytes);
    case 'bare_lf':
      throw replies.bareLineEnding('LF');
    case 'bare_cr':
      throw replies.bareLineEnding('CR');
    case 'line_too_long':
      throw replies.lineTooLong();
  }
}
