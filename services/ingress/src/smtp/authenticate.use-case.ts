import { TenantConfigRepository } from '@ser/data';
import type { EventPublisher } from '@ser/queue';
import { decoyVerify, verifySecret } from '@ser/security';
import { Inject, Injectable } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { EVENTS, LOGGER } from '@ser/runtime';
import type { Logger } from '@ser/logger';

export interface AuthenticatedApp {
  tenantId: string;
  appId: string;
  credentialId: string;
}

export type AuthFailureReason =
  'unknown_user' | 'wrong_secret' | 'credential_revoked' | 'app_suspended' | 'tenant_suspended';

export type AuthOutcome = { ok: true; app: AuthenticatedApp } | { ok: false; reason: AuthFailureReason };

/** Verifies SMTP AUTH credentials. The reply never reveals which check failed; the event does. */
@Injectable()
export class AuthenticateUseCase {
  constructor(
    private readonly config: TenantConfigRepository,
    @Inject(EVENTS) private readonly events: EventPublisher,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  async execute(username: string, secret: string, clientIp: string): Promise<AuthOutcome> {
    const outcome = await this.check(username, secret);
    const base = { id: `auth.${randomUUID()}`, data: { clientIp, username } };
    if (outcome.ok) {
      await this.recordUse(outcome.app.credentialId, clientIp);
    }
    const published = await this.events.tryPublish(
      outcome.ok
        ? { ...base, type: 'auth.succeeded', tenantId: outcome.app.tenantId, appId: outcome.app.appId }
        : { ...base, type: 'auth.failed', data: { ...base.data, reason: outcome.reason } },
    );
    if (!published) {
      this.logger.warn(
        { code: 'INGRESS_EVENT_NOT_QUEUED', eventType: outcome.ok ? 'auth.succeeded' : 'auth.failed' },
        'event lost',
      );
    }
    return outcome;
  }

  private async check(username: string, secret: string): Promise<AuthOutcome> {
    const credential = await this.config.findCredentialByUsername(username);
    if (credential === null) {
      await decoyVerify(secret);
      return { ok: false, reason: 'unknown_user' };
    }
    if (!(await verifySecret(secret, credential.secretHash))) {
      return { ok: false, reason: 'wrong_secret' };
    }
    if (credential.status !== 'active') {
      return { ok: false, reason: 'credential_revoked' };
    }
    const app = await this.config.findApplication(credential.tenantId, credential.appId);
    if (app === null || app.status !== 'active') {
      return { ok: false, reason: 'app_suspended' };
    }
    const tenant = await this.config.findTenant(credential.tenantId);
    if (tenant === null || tenant.status !== 'active') {
      return { ok: false, reason: 'tenant_suspended' };
    }
    return {
      ok: true,
      app: { tenantId: credential.tenantId, appId: credential.appId, credentialId: credential._id },
    };
  }

  /** At most one write a minute per credential: last use is for reports, not an audit trail. */
  private async recordUse(credentialId: string, clientIp: string): Promise<void> {
    const now = new Date();
    await this.config.credentials.updateOne(
      {
        _id: credentialId,
        $or: [{ lastUsedAt: { $exists: false } }, { lastUsedAt: { $lt: new Date(now.getTime() - 60_000) } }],
      },
      { $set: { lastUsedAt: now, lastUsedIp: clientIp } },
    );
  }
}
