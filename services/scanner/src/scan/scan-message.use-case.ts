import type { RelayConfig } from '@ser/config';
import { jobIds } from '@ser/contracts';
import { MessageRepository, TenantConfigRepository } from '@ser/data';
import type { MessageDocument, SpamEngineResult } from '@ser/data';
import type { MessageStore } from '@ser/mongo';
import { AcceptanceVerdicts } from '@ser/queue';
import type { EventPublisher, JobContext, QueueBus } from '@ser/queue';
import { CONFIG, EVENTS, MESSAGE_STORE, QUEUE_BUS } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { decide } from '../policy/scan-decision';
import type { ScanFindings } from '../policy/scan-decision';
import { effectiveScanPolicy } from '../policy/scan-policy';
import type { EffectiveScanPolicy } from '../policy/scan-policy';
import { SpamdUnavailableError } from '../spam/spamd-client';
import { SpamdEngine } from '../spam/spamd-engine';
import { SpamscannerEngine } from '../spam/spamscanner-engine';
import { AttachmentInspector } from './attachment-inspector';
import { ClamdClient, ClamdUnavailableError } from './clamd-client';

/** Transient: the job is retried with backoff until ingress has committed the message. */
export class MessageNotAcceptedYetError extends Error {
  constructor(messageId: string) {
    super(`message ${messageId} is still being received`);
    this.name = 'MessageNotAcceptedYetError';
  }
}

/** Why a message is held by the scanner; an operator's retry sends it through the scan again. */
export const SCAN_HOLD_REASONS = ['av_unavailable', 'as_unavailable', 'scan_failed'] as const;
type HoldReason = (typeof SCAN_HOLD_REASONS)[number];

/** spamd is on, cannot be reached, and the policy says to hold the message rather than go on. */
class SpamdRequiredError extends Error {
  constructor(cause: SpamdUnavailableError) {
    super(`spamd unavailable and the policy holds: ${cause.message}`, { cause });
    this.name = 'SpamdRequiredError';
  }
}

const FINAL_STATES = ['rejected_av', 'rejected_spam', 'rejected_policy', 'quarantined'] as const;

/**
 * Scans one message and moves it on: anti-virus (clamd), the attachment policy, and the anti-spam
 * engines (spamscanner, spamd), then the tenant's policy decides. Fail closed (invariant 4): if
 * clamd cannot give an answer the job is retried, and after the last attempt the message is held,
 * never passed on. Every step after the state change (the sign job, the event) is repeated by a
 * redelivered job and made a no-op by its deterministic id, so a crash in between loses nothing.
 */
@Injectable()
export class ScanMessageUseCase {
  constructor(
    @Inject(CONFIG) private readonly config: RelayConfig,
    private readonly messages: MessageRepository,
    private readonly tenants: TenantConfigRepository,
    private readonly clamd: ClamdClient,
    private readonly attachments: AttachmentInspector,
    private readonly spamscanner: SpamscannerEngine,
    private readonly spamd: SpamdEngine,
    @Inject(MESSAGE_STORE) private readonly store: MessageStore,
    @Inject(QUEUE_BUS) private readonly bus: QueueBus,
    @Inject(EVENTS) private readonly events: EventPublisher,
    private readonly verdicts: AcceptanceVerdicts,
  ) {}

  async execute(messageId: string, context: JobContext): Promise<void> {
    const message = await this.committed(messageId);
    if (message === null) {
      context.logger.warn({ code: 'SCANNER_MESSAGE_MISSING' }, 'message record not found; job dropped');
      return;
    }
    context.logger = context.logger.child({ tenantId: message.tenantId, appId: message.appId });
    if (message.state === 'receiving') {
      if ((await this.verdicts.read(messageId)) === 'refused') {
        await this.dropRefused(messageId, context);
        return;
      }
      // Ingress queues the scan job a moment before it marks the record accepted; a record that
      // stays `receiving` was never accepted, and the ingress sweeper removes it.
      throw new MessageNotAcceptedYetError(messageId);
    }
    if (message.state === 'accepted') {
      // Ingress may still be waiting to confirm its commit; whichever of us claims first decides
      // (docs/scanning.md). `taken` already there (a retried or re-run scan) is ours: go on.
      if ((await this.verdicts.claim(messageId, 'taken')) === 'refused') {
        await this.dropRefused(messageId, context);
        return;
      }
      await this.scan(message, context);
    }
    const current = await this.messages.findById(messageId);
    if (current !== null) {
      await this.announce(current);
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

  /**
   * Ingress could not confirm this message's commit in time and answered `451`, so the client sends
   * it again: this copy must go nowhere and leave nothing behind (no events: nothing happened to it).
   * The body and ledger go only if the record is gone, as in ingress's own clean-up.
   */
  private async dropRefused(messageId: string, context: JobContext): Promise<void> {
    const { deletedCount } = await this.messages.messages.deleteOne({
      _id: messageId,
      state: { $in: ['receiving', 'accepted'] },
    });
    if (deletedCount === 1 || (await this.messages.findById(messageId)) === null) {
      await this.messages.deleteRecipients(messageId);
      await this.store.delete(messageId);
    }
    context.logger.warn(
      { code: 'SCANNER_MESSAGE_REFUSED_AT_INGRESS' },
      'ingress refused this message; job dropped and what was written removed',
    );
  }

  private async scan(message: MessageDocument, context: JobContext): Promise<void> {
    try {
      const verdict = await this.clamd.scan(this.store.open(message._id));
      if (verdict.result === 'infected') {
        await this.messages.transition(message._id, ['accepted'], 'rejected_av', {
          av: { engine: 'clamav', result: 'infected', signature: verdict.signature },
          reason: `virus: ${verdict.signature}`,
        });
        context.logger.info({ code: 'SCANNER_VIRUS_FOUND', signature: verdict.signature }, 'virus found');
        return;
      }
      const policy = await this.policyFor(message);
      const outcome = decide(await this.findings(message, policy), policy);
      await this.messages.transition(message._id, ['accepted'], outcome.state, {
        av: { engine: 'clamav', result: 'clean' },
        scan: outcome.verdict,
        ...(outcome.reason === undefined ? {} : { reason: outcome.reason }),
      });
      if (outcome.state === 'scanned') {
        context.logger.info(
          { code: 'SCANNER_MESSAGE_SCANNED', score: outcome.verdict.score },
          'message scanned; on to signing',
        );
      } else {
        context.logger.info(
          { code: 'SCANNER_MESSAGE_STOPPED', state: outcome.state, reasons: outcome.verdict.reasons },
          'message stopped by the scan policy',
        );
      }
    } catch (error) {
      if (context.attempt < context.maxAttempts) {
        throw error;
      }
      await this.hold(message, holdReason(error), error, context);
    }
  }

  private async policyFor(message: MessageDocument): Promise<EffectiveScanPolicy> {
    const [tenant, application] = await Promise.all([
      this.tenants.findTenant(message.tenantId),
      this.tenants.findApplication(message.tenantId, message.appId),
    ]);
    return effectiveScanPolicy(tenant?.scanPolicy, application?.scanPolicy);
  }

  private async findings(message: MessageDocument, policy: EffectiveScanPolicy): Promise<ScanFindings> {
    const enginesOn = this.spamscanner.enabled || this.spamd.enabled;
    const small = message.size <= this.config.SER_SPAM_MAX_BYTES;
    // The engines need the whole message (spamscanner parses it, spamd wants its length first):
    // read it once, and let the MIME walk parse that copy instead of reading the store again.
    const raw = enginesOn && small ? await this.store.read(message._id) : undefined;
    const attachments =
      policy.blockedAttachmentAction === 'ignore'
        ? []
        : await this.attachments.blocked(
            raw === undefined ? this.store.open(message._id) : Readable.from([raw]),
            policy.blockedAttachmentTypes,
          );
    if (!small) {
      const detail = `message of ${String(message.size)} bytes is larger than SER_SPAM_MAX_BYTES`;
      const engines: SpamEngineResult[] = [];
      if (this.spamscanner.enabled) {
        engines.push({ engine: 'spamscanner', status: 'skipped', detail });
      }
      if (this.spamd.enabled) {
        engines.push({ engine: 'spamd', status: 'skipped', detail });
      }
      return { engines, phishing: [], attachments };
    }
    if (raw === undefined) {
      return { engines: [], phishing: [], attachments };
    }
    const [spamscanner, spamd] = await Promise.all([
      this.spamscanner.enabled ? this.spamscanner.check(raw) : undefined,
      this.spamd.enabled ? this.checkSpamd(raw, policy) : undefined,
    ]);
    const engines: SpamEngineResult[] = [];
    if (spamscanner !== undefined) {
      engines.push(spamscanner.result);
    }
    if (spamd !== undefined) {
      engines.push(spamd);
    }
    const degraded = spamd?.status === 'unavailable' ? [`spamd: ${spamd.detail ?? 'unavailable'}`] : [];
    return { engines, phishing: spamscanner?.phishing ?? [], attachments, degraded };
  }

  /** spamd's verdict; when it cannot be reached, the policy says whether the scan goes on without it. */
  private async checkSpamd(raw: Buffer, policy: EffectiveScanPolicy): Promise<SpamEngineResult> {
    try {
      return await this.spamd.check(raw);
    } catch (error) {
      if (!(error instanceof SpamdUnavailableError)) {
        throw error;
      }
      if (policy.spamdUnavailable === 'hold') {
        throw new SpamdRequiredError(error);
      }
      return { engine: 'spamd', status: 'unavailable', detail: error.message };
    }
  }

  private async hold(
    message: MessageDocument,
    reason: HoldReason,
    error: unknown,
    context: JobContext,
  ): Promise<void> {
    const moved = await this.messages.transition(message._id, ['accepted'], 'held', { reason });
    if (moved) {
      await this.events.publishMessageStage(
        message,
        'message.held',
        { reason, error: error instanceof Error ? error.message : String(error) },
        message.round ?? 0,
      );
    }
    context.logger.error({ code: 'SCANNER_MESSAGE_HELD', reason, err: error }, 'message held');
  }

  /**
   * The scan's consequences for the message's current state: the sign job and the stage event.
   * Safe to repeat: the job and event ids are derived from the message id and the round.
   */
  private async announce(message: MessageDocument): Promise<void> {
    const round = message.round ?? 0;
    const verdict = { av: message.av, scan: message.scan };
    // A message released from quarantine is `scanned` too, but the release moved it on already.
    if (message.state === 'scanned' && message.scan?.decision !== 'quarantine') {
      await this.bus.enqueue('sign', { v: 1, messageId: message._id }, jobIds.sign(message._id));
      await this.events.publishMessageStage(message, 'message.scanned', verdict, round);
      return;
    }
    if ((FINAL_STATES as readonly string[]).includes(message.state)) {
      const type = `message.${message.state as (typeof FINAL_STATES)[number]}` as const;
      await this.events.publishMessageStage(message, type, { ...verdict, reason: message.reason }, round);
      return;
    }
    if (message.state === 'held' && (SCAN_HOLD_REASONS as readonly string[]).includes(message.reason ?? '')) {
      await this.events.publishMessageStage(message, 'message.held', { reason: message.reason }, round);
    }
  }
}

function holdReason(error: unknown): HoldReason {
  if (error instanceof ClamdUnavailableError) {
    return 'av_unavailable';
  }
  return error instanceof SpamdRequiredError ? 'as_unavailable' : 'scan_failed';
}
