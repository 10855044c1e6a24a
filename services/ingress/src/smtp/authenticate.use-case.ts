import type { ApplicationDocument, CredentialDocument } from '@ser/data';
import type { Logger } from '@ser/logger';
import { LOGGER } from '@ser/runtime';
import { decoyVerify, verifySecret } from '@ser/security';
import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { AuthLockout } from '../limits/auth-lockout';
import type { LockScope } from '../limits/auth-lockout';
import { ApplicationDirectory } from './application-directory';
import { IngressEvents } from './ingress-events';
import { isAddressAllowed } from './ip-allowlist';

export interface AuthenticatedApp {
  tenantId: string;
  appId: string;
  credentialId: string;
}

export type AuthFailureReason =
  | 'unknown_user'
  | 'wrong_secret'
  | 'credential_revoked'
  | 'credential_expired'
  | 'app_suspended'
  | 'tenant_suspended'
  | 'ip_not_allowed'
  | 'authzid_mismatch'
  | 'locked_out';

export type AuthOutcome =
  | { ok: true; app: AuthenticatedApp; application: ApplicationDocument }
  | { ok: false; reason: AuthFailureReason; lock?: LockScope };

export interface AuthAttempt {
  username: string;
  secret: string;
  clientIp: string;
  /** SASL PLAIN authorization identity (RFC 4616), when the client sent one. */
  authzid?: string;
}

/**
 * Verifies SMTP AUTH credentials. The reply never reveals which check failed; the `auth.failed`
 * event does. Failures are counted per IP and user name across replicas (AuthLockout).
 */
@Injectable()
export class AuthenticateUseCase {
  constructor(
    private readonly directory: ApplicationDirectory,
    private readonly lockout: AuthLockout,
    private readonly events: IngressEvents,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async execute(attempt: AuthAttempt): Promise<AuthOutcome> {
    const { username, clientIp } = attempt;
    const lock = await this.lockout.locked(clientIp, username);
    const outcome: AuthOutcome =
      lock === undefined ? await this.check(attempt) : { ok: false, reason: 'locked_out', lock };
    if (outcome.ok) {
      await this.lockout.recordSuccess(username);
      this.recordUse(outcome.app, clientIp);
    } else if (outcome.reason !== 'locked_out') {
      const triggered = await this.lockout.recordFailure(clientIp, username);
      if (triggered !== undefined) {
        this.logger.warn({ code: 'INGRESS_AUTH_LOCKED_OUT', scope: triggered, clientIp }, 'auth lockout');
      }
    }
    const base = { id: `auth.${randomUUID()}`, data: { clientIp, username } };
    this.events.emit(
      outcome.ok
        ? { ...base, type: 'auth.succeeded', tenantId: outcome.app.tenantId, appId: outcome.app.appId }
        : {
            ...base,
            type: 'auth.failed',
            data: { ...base.data, reason: outcome.reason, ...(outcome.lock ? { lock: outcome.lock } : {}) },
          },
    );
    return outcome;
  }

  /**
   * The application of an authenticated session, if its credential, application and tenant are all
   * still active (checked again on every transaction, through the short-lived cache).
   */
  async stillAuthorised(app: AuthenticatedApp, clientIp: string): Promise<ApplicationDocument | null> {
    const credential = await this.directory.credentialById(app.tenantId, app.credentialId);
    if (credential === null || credentialProblem(credential) !== undefined) {
      return null;
    }
    const outcome = await this.checkApplication(credential, clientIp);
    return outcome.ok ? outcome.application : null;
  }

  private async check(attempt: AuthAttempt): Promise<AuthOutcome> {
    const { username, secret, clientIp, authzid } = attempt;
    const credential = await this.directory.credential(username);
    if (credential === null) {
      await decoyVerify(secret);
      return { ok: false, reason: 'unknown_user' };
    }
    if (!(await verifySecret(secret, credential.secretHash))) {
      return { ok: false, reason: 'wrong_secret' };
    }
    // RFC 4616: acting as another identity than the one authenticated is not something we offer.
    if (authzid !== undefined && authzid !== '' && authzid !== username) {
      return { ok: false, reason: 'authzid_mismatch' };
    }
    const problem = credentialProblem(credential);
    return problem === undefined
      ? this.checkApplication(credential, clientIp)
      : { ok: false, reason: problem };
  }

  private async checkApplication(credential: CredentialDocument, clientIp: string): Promise<AuthOutcome> {
    const application = await this.directory.application(credential.tenantId, credential.appId);
    if (application === null || application.status !== 'active') {
      return { ok: false, reason: 'app_suspended' };
    }
    const tenant = await this.directory.tenant(credential.tenantId);
    if (tenant === null || tenant.status !== 'active') {
      return { ok: false, reason: 'tenant_suspended' };
    }
    if (!isAddressAllowed(clientIp, application.allowedSourceIps)) {
      return { ok: false, reason: 'ip_not_allowed' };
    }
    const app = { tenantId: credential.tenantId, appId: credential.appId, credentialId: credential._id };
    return { ok: true, app, application };
  }

  /** At most one write a minute per credential: last use is for reports, not an audit trail. */
  private recordUse(app: AuthenticatedApp, clientIp: string): void {
    const now = new Date();
    this.directory
      .recordUse(app.credentialId, clientIp, now)
      .catch((err: unknown) =>
        this.logger.warn({ code: 'INGRESS_CREDENTIAL_USE_NOT_RECORDED', err }, 'last use not recorded'),
      );
  }
}

function credentialProblem(credential: CredentialDocument): AuthFailureReason | undefined {
  if (credential.status !== 'active') {
    return 'credential_revoked';
  }
  if (credential.expiresAt !== undefined && credential.expiresAt.getTime() <= Date.now()) {
    return 'credential_expired';
  }
  return undefined;
}
