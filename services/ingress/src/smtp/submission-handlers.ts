import type { RelayConfig } from '@ser/config';
import type { ApplicationDocument } from '@ser/data';
import type { Logger } from '@ser/logger';
import { newMessageId } from '@ser/contracts';
import { isDeliverableAddress } from '@ser/mail';
import { CONFIG, LOGGER } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import type {
  SMTPServerAddress,
  SMTPServerAuthentication,
  SMTPServerDataStream,
  SMTPServerSession,
} from 'smtp-server';
import { AdmissionControl } from '../limits/admission-control';
import type { AdmissionRefusal } from '../limits/admission-control';
import { ConnectionTracker } from '../limits/connection-tracker';
import { RateLimiter } from '../limits/rate-limiter';
import type { RateDecision, RateLimits } from '../limits/rate-limiter';
import { IngressMetrics } from '../metrics/ingress-metrics';
import { AcceptMessageUseCase } from './accept-message.use-case';
import type { AuthenticatedApp } from './authenticate.use-case';
import { AuthenticateUseCase } from './authenticate.use-case';
import { IngressEvents } from './ingress-events';
import { replies, SmtpReplyError } from './smtp-reply';
import { SessionRegistry } from './session-registry';
import type { SessionState } from './session-registry';

type Done = (error?: Error | null) => void;
type AuthDone = (error: Error | null | undefined, response?: { user: AuthenticatedApp }) => void;

/** The smtp-server callbacks: who may connect, authenticate and submit, and within which limits. */
@Injectable()
export class SubmissionHandlers {
  constructor(
    @Inject(CONFIG) private readonly config: RelayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly registry: SessionRegistry,
    private readonly tracker: ConnectionTracker,
    private readonly authenticate: AuthenticateUseCase,
    private readonly accept: AcceptMessageUseCase,
    private readonly rates: RateLimiter,
    private readonly events: IngressEvents,
    private readonly metrics: IngressMetrics,
    private readonly admission: AdmissionControl,
  ) {}

  onConnect(session: SMTPServerSession, done: Done): void {
    const state = this.registry.get(session.id);
    const clientIp = session.remoteAddress;
    if (!this.tracker.openIp(clientIp, this.config.SER_INGRESS_MAX_CONNECTIONS_PER_IP)) {
      const refusal = replies.tooManyConnections('address');
      this.events.emit({
        id: `session.${session.id}.refused`,
        type: 'session.refused',
        data: { clientIp, reason: refusal.reason, reply: `${refusal.responseCode} ${refusal.message}` },
      });
      done(refusal);
      return;
    }
    if (state !== undefined) {
      state.countedIp = true;
      state.sessionTimer = setTimeout(() => this.expire(state), this.config.SER_INGRESS_SESSION_TIMEOUT_MS);
      state.sessionTimer.unref();
    }
    this.events.emit({
      id: `session.${session.id}`,
      type: 'session.connected',
      data: { clientIp, implicitTls: session.secure },
    });
    done();
  }

  onClose(session: SMTPServerSession): void {
    const state = this.registry.remove(session.id);
    if (state?.countedIp === true) {
      this.tracker.closeIp(session.remoteAddress);
    }
    if (state?.app !== undefined) {
      this.tracker.closeApp(state.app.appId);
    }
  }

  onAuth(auth: SMTPServerAuthentication, session: SMTPServerSession, done: AuthDone): void {
    void this.authenticateSession(auth, session).then(
      (app) => done(null, { user: app }),
      (error: unknown) => {
        // Every refusal here is an SmtpReplyError whose reason comes from a short fixed list.
        this.metrics.authFailed(error instanceof SmtpReplyError ? error.reason : 'error');
        done(error as Error);
      },
    );
  }

  onMailFrom(address: SMTPServerAddress, session: SMTPServerSession, done: Done): void {
    void this.checkMailFrom(address, session).then(
      () => done(),
      (error: unknown) => done(this.refused(session, 'MAIL', error)),
    );
  }

  onRcptTo(address: SMTPServerAddress, session: SMTPServerSession, done: Done): void {
    void this.checkRcptTo(address, session).then(
      () => done(),
      (error: unknown) => done(this.refused(session, 'RCPT', error)),
    );
  }

  onData(
    stream: SMTPServerDataStream,
    session: SMTPServerSession,
    done: (error?: Error | null, message?: string) => void,
  ): void {
    // The hard bound: clients that passed MAIL FROM together may find every slot taken here.
    const permit = this.admission.startData();
    if (permit === undefined) {
      done(this.overloaded(session, 'concurrent_data'));
      return;
    }
    const state = this.registry.get(session.id);
    if (state !== undefined) {
      state.inData = true;
    }
    // Released however the message ends (stored, refused, client gone): a leaked slot would refuse
    // every message once they are all leaked.
    void this.receive(stream, session, state)
      .finally(() => permit.release())
      .then(
        (messageId) => done(null, `2.0.0 Ok: queued as ${messageId}`),
        (error: unknown) => done(error as Error),
      );
  }

  private async authenticateSession(
    auth: SMTPServerAuthentication,
    session: SMTPServerSession,
  ): Promise<AuthenticatedApp> {
    const state = this.registry.get(session.id);
    if (state !== undefined && state.authFailures >= this.config.SER_INGRESS_MAX_AUTH_ATTEMPTS) {
      throw replies.tooManyAuthAttempts();
    }
    const outcome = await this.authenticate
      .execute({
        username: auth.username ?? '',
        secret: auth.password ?? '',
        clientIp: session.remoteAddress,
        ...(auth.method === 'PLAIN' && auth.authzid !== undefined ? { authzid: auth.authzid } : {}),
      })
      .catch((error: unknown) => {
        this.logger.error({ code: 'INGRESS_AUTH_UNAVAILABLE', err: error }, 'authentication backend failed');
        throw replies.authUnavailable(error);
      });
    if (!outcome.ok) {
      if (state !== undefined) {
        state.authFailures += 1;
        state.closeAfterReply = outcome.reason === 'locked_out';
      }
      throw outcome.lock === 'ip' ? replies.ipLockedOut() : replies.authFailed(outcome.reason);
    }
    const maxConnections =
      outcome.application.limits?.maxConnections ?? this.config.SER_INGRESS_MAX_CONNECTIONS_PER_APP;
    if (!this.tracker.openApp(outcome.app.appId, maxConnections)) {
      throw replies.tooManyConnections('application');
    }
    if (state === undefined) {
      this.tracker.closeApp(outcome.app.appId);
    } else {
      state.app = outcome.app;
    }
    return outcome.app;
  }

  private async checkMailFrom(address: SMTPServerAddress, session: SMTPServerSession): Promise<void> {
    // First: an overloaded relay spends nothing more on the transaction (no lookup, no rate token).
    const refusal = this.admission.checkTransaction();
    if (refusal !== undefined) {
      this.metrics.admissionRefused(refusal);
      throw replies.overloaded(refusal);
    }
    const application = await this.currentApplication(session);
    if (address.address === '') {
      throw replies.nullSender();
    }
    if (!isDeliverableAddress(address.address)) {
      throw replies.badAddress('The sender');
    }
    const decision = await this.rates.takeMessage(application._id, this.limitsOf(application));
    throwIfLimited(decision, this.limitsOf(application));
  }

  private async checkRcptTo(address: SMTPServerAddress, session: SMTPServerSession): Promise<void> {
    if (!isDeliverableAddress(address.address)) {
      throw replies.badAddress('The recipient');
    }
    if (session.envelope.rcptTo.length >= this.config.SER_INGRESS_MAX_RECIPIENTS) {
      throw replies.tooManyRecipients(this.config.SER_INGRESS_MAX_RECIPIENTS);
    }
    const application = await this.currentApplication(session);
    const decision = await this.rates.takeRecipient(application._id, this.limitsOf(application));
    throwIfLimited(decision, this.limitsOf(application));
  }

  /** Every transaction checks again that the credential and application are still active. */
  private async currentApplication(session: SMTPServerSession): Promise<ApplicationDocument> {
    const app = session.user as AuthenticatedApp | undefined;
    if (app === undefined) {
      throw replies.authRequired();
    }
    const application = await this.authenticate
      .stillAuthorised(app, session.remoteAddress)
      .catch((error: unknown) => {
        throw replies.notStored(error);
      });
    if (application === null) {
      throw replies.noLongerAuthorised();
    }
    return application;
  }

  private limitsOf(application: ApplicationDocument): RateLimits {
    return {
      messagesPerMinute:
        application.limits?.messagesPerMinute ?? this.config.SER_INGRESS_RATE_MESSAGES_PER_MINUTE,
      messagesPerDay: application.limits?.messagesPerDay ?? this.config.SER_INGRESS_RATE_MESSAGES_PER_DAY,
      recipientsPerDay:
        application.limits?.recipientsPerDay ?? this.config.SER_INGRESS_RATE_RECIPIENTS_PER_DAY,
    };
  }

  private async receive(
    stream: SMTPServerDataStream,
    session: SMTPServerSession,
    state: SessionState | undefined,
  ): Promise<string> {
    const app = session.user as AuthenticatedApp;
    const messageId = newMessageId();
    const logger = this.logger.child({ messageId, tenantId: app.tenantId, appId: app.appId });
    try {
      await this.accept.execute(
        stream,
        {
          app,
          mailFrom: session.envelope.mailFrom === false ? '' : session.envelope.mailFrom.address,
          rcptTo: session.envelope.rcptTo.map((r) => r.address),
          clientIp: session.remoteAddress,
          // Without reverse lookups smtp-server reports the address literal as the host name.
          ...(session.clientHostname.startsWith('[') ? {} : { clientHostname: session.clientHostname }),
          heloName: session.hostNameAppearsAs,
          tls: session.secure && session.tlsOptions ? tlsSummary(session.tlsOptions) : undefined,
        },
        messageId,
      );
      logger.info({ code: 'INGRESS_MESSAGE_ACCEPTED' }, 'accepted');
      return messageId;
    } catch (error) {
      // Read to the client's final dot before replying (RFC 5321 §4.1.1.4).
      if (!stream.readableEnded && !stream.destroyed) {
        stream.resume();
        await new Promise((resolve) => {
          stream.once('end', resolve);
          stream.once('close', resolve);
        });
      }
      logger.warn({ code: 'INGRESS_MESSAGE_REFUSED', err: error }, 'message refused');
      throw error;
    } finally {
      if (state !== undefined) {
        state.inData = false;
      }
    }
  }

  /** Turns any failure into an SMTP reply with an enhanced code, and records the refusal. */
  private refused(session: SMTPServerSession, command: 'MAIL' | 'RCPT', error: unknown): SmtpReplyError {
    const reply = error instanceof SmtpReplyError ? error : replies.notStored(error);
    if (!(error instanceof SmtpReplyError)) {
      this.logger.error({ code: 'INGRESS_COMMAND_FAILED', command, err: error }, 'command failed');
    }
    const app = session.user as AuthenticatedApp | undefined;
    this.events.emit({
      id: `envelope.${randomUUID()}`,
      type: 'envelope.refused',
      ...(app === undefined ? {} : { tenantId: app.tenantId, appId: app.appId }),
      data: {
        clientIp: session.remoteAddress,
        command,
        reason: reply.reason,
        reply: `${reply.responseCode} ${reply.message}`,
      },
    });
    return reply;
  }

  /** A message refused at DATA for want of a slot: smtp-server reads it to the end, then replies. */
  private overloaded(session: SMTPServerSession, reason: AdmissionRefusal): SmtpReplyError {
    this.metrics.admissionRefused(reason);
    const reply = replies.overloaded(reason);
    const app = session.user as AuthenticatedApp | undefined;
    this.events.emit({
      id: `${newMessageId()}.refused`,
      type: 'message.refused',
      ...(app === undefined ? {} : { tenantId: app.tenantId, appId: app.appId }),
      data: { reason, reply: `${reply.responseCode} ${reply.message}`, clientIp: session.remoteAddress },
    });
    return reply;
  }

  private expire(state: SessionState): void {
    this.logger.info({ code: 'INGRESS_SESSION_EXPIRED' }, 'session time limit reached');
    const expired = replies.sessionExpired();
    state.connection.send(expired.responseCode, expired.message);
  }
}

function throwIfLimited(decision: RateDecision, limits: RateLimits): void {
  if (!decision.ok) {
    throw replies.rateLimited(decision.limit, limits[decision.limit], decision.retryAfterSeconds);
  }
}

function tlsSummary(options: { version?: string; standardName?: string; name?: string }): {
  protocol: string;
  cipher: string;
} {
  return { protocol: options.version ?? 'TLS', cipher: options.standardName ?? options.name ?? 'unknown' };
}
