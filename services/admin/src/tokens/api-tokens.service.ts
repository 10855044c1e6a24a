import type { RelayConfig } from '@ser/config';
import { requireSetting } from '@ser/config';
import { ApiTokenRepository, AuditRepository, newId, TenantConfigRepository } from '@ser/data';
import type { ApiTokenDocument } from '@ser/data';
import { CONFIG } from '@ser/runtime';
import { constantTimeEquals, generateSecret, hashToken } from '@ser/security';
import { Inject, Injectable } from '@nestjs/common';
import { BOOTSTRAP_OPERATOR } from '../http/actor.decorator';
import type { Principal } from '../http/actor.decorator';
import { pageOf } from '../http/page';
import { problems } from '../http/problem';
import type { CreateTokenInput } from './tokens.schemas';

/** `ser.<tokenId>.<secret>`: the id finds the stored hash, the 256-bit secret proves possession. */
const TOKEN_FORMAT = /^ser\.(tok_[0-9a-f]{24})\.([A-Za-z0-9_-]{43})$/;

/** What the API shows of a token: never its secret or hash. */
export function tokenView(token: ApiTokenDocument) {
  const { _id, name, role, tenantId, createdAt, createdBy, revokedAt, revokedBy, lastUsedAt } = token;
  return { id: _id, name, role, tenantId, createdAt, createdBy, revokedAt, revokedBy, lastUsedAt };
}

/** Bearer tokens of the admin API: issued, checked on every request, revoked at once. */
@Injectable()
export class ApiTokensService {
  /** The bootstrap operator token; without it nobody could issue the first API token. */
  private readonly bootstrap: string;

  constructor(
    @Inject(CONFIG) config: RelayConfig,
    private readonly tokens: ApiTokenRepository,
    private readonly tenants: TenantConfigRepository,
    private readonly audit: AuditRepository,
  ) {
    this.bootstrap = requireSetting(config.SER_ADMIN_TOKEN, 'SER_ADMIN_TOKEN', 'admin');
  }

  /**
   * Who presents this bearer token, or null. Read from the database on every request, so a revoked
   * token stops working at once on every replica.
   */
  async authenticate(bearer: string): Promise<Principal | null> {
    if (constantTimeEquals(bearer, this.bootstrap)) {
      return BOOTSTRAP_OPERATOR;
    }
    const match = TOKEN_FORMAT.exec(bearer);
    if (match?.[1] === undefined || match[2] === undefined) {
      return null;
    }
    const token = await this.tokens.findActive(match[1]);
    if (token === null || !constantTimeEquals(hashToken(match[2]), token.secretHash)) {
      return null;
    }
    await this.tokens.touch(token._id);
    return {
      actor: `token:${token._id}`,
      role: token.role,
      ...(token.tenantId === undefined ? {} : { tenantId: token.tenantId }),
    };
  }

  /** A new token; its secret is in this answer only. Tenant admins issue tokens of their tenant. */
  async issue(caller: Principal, input: CreateTokenInput) {
    const tenantId = this.tenantOfNewToken(caller, input);
    if (tenantId !== undefined && (await this.tenants.findTenant(tenantId)) === null) {
      throw problems.notFound('tenant');
    }
    const secret = generateSecret(32);
    const token: ApiTokenDocument = {
      _id: newId('tok'),
      name: input.name,
      role: input.role,
      ...(tenantId === undefined ? {} : { tenantId }),
      secretHash: hashToken(secret),
      createdAt: new Date(),
      createdBy: caller.actor,
    };
    await this.tokens.create(token);
    await this.audit.record({
      actor: caller.actor,
      action: 'token.create',
      ...(tenantId === undefined ? {} : { tenantId }),
      target: { type: 'token', id: token._id },
      details: { name: token.name, role: token.role },
    });
    return { ...tokenView(token), token: `ser.${token._id}.${secret}` };
  }

  /** Tokens visible to the caller: all (or one tenant's) for operators, its tenant's otherwise. */
  async list(caller: Principal, filter: { tenantId?: string; cursor?: string }, limit: number) {
    const tenantId = caller.tenantId ?? filter.tenantId;
    const found = await this.tokens.list(
      { ...(tenantId === undefined ? {} : { tenantId }), after: filter.cursor },
      limit + 1,
    );
    const { page, nextCursor } = pageOf(found, limit, (token) => token._id);
    return { items: page.map(tokenView), nextCursor };
  }

  async revoke(caller: Principal, tokenId: string) {
    const revoked = await this.tokens.revoke(tokenId, caller.actor);
    if (revoked === null) {
      throw problems.notFound('token');
    }
    await this.audit.record({
      actor: caller.actor,
      action: 'token.revoke',
      ...(revoked.tenantId === undefined ? {} : { tenantId: revoked.tenantId }),
      target: { type: 'token', id: tokenId },
    });
    return tokenView(revoked);
  }

  /** No escalation: a tenant admin issues tenant tokens for its own tenant, never operator tokens. */
  private tenantOfNewToken(caller: Principal, input: CreateTokenInput): string | undefined {
    if (input.role === 'operator') {
      if (caller.role !== 'operator') {
        throw problems.forbidden('only operators issue operator tokens');
      }
      if (input.tenantId !== undefined) {
        throw problems.invalid([{ path: 'tenantId', message: 'an operator token spans all tenants' }]);
      }
      return undefined;
    }
    if (caller.tenantId !== undefined) {
      if (input.tenantId !== undefined && input.tenantId !== caller.tenantId) {
        throw problems.notFound('tenant');
      }
      return caller.tenantId;
    }
    if (input.tenantId === undefined) {
      throw problems.invalid([{ path: 'tenantId', message: `a ${input.role} token needs its tenant` }]);
    }
    return input.tenantId;
  }
}
