import { AuditRepository, TenantConfigRepository } from '@ser/data';
import { Injectable } from '@nestjs/common';
import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request, Response } from 'express';
import { setPrincipal, setRequestTenant } from '../http/actor.decorator';
import type { Principal } from '../http/actor.decorator';
import { apiCallEntry } from '../http/audit-entry';
import { ProblemError, problems } from '../http/problem';
import { ACCESS_RULE } from './access.decorator';
import type { AccessRule } from './access.decorator';
import { ApiTokensService } from '../tokens/api-tokens.service';
import { RateLimiter } from './rate-limiter';
import { TenantScope } from './tenant-scope.service';

const OPERATOR_ONLY: AccessRule = { level: 'operator' };

/**
 * Every request of the admin API passes here (a global guard): the bearer token is authenticated,
 * the route's access rule checked against its role, and a tenant token confined to its tenant
 * before any controller or query runs.
 */
@Injectable()
export class AccessGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: ApiTokensService,
    private readonly scope: TenantScope,
    private readonly tenants: TenantConfigRepository,
    private readonly limiter: RateLimiter,
    private readonly audit: AuditRepository,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const rule =
      this.reflector.getAllAndOverride<AccessRule | undefined>(ACCESS_RULE, [
        context.getHandler(),
        context.getClass(),
      ]) ?? OPERATOR_ONLY;
    if (rule.level === 'public') {
      return true;
    }
    const request = context.switchToHttp().getRequest<Request>();
    const match = /^Bearer ([^\s]+)$/.exec(request.headers.authorization ?? '');
    const principal = match?.[1] === undefined ? null : await this.tokens.authenticate(match[1]);
    // Counted per token, or per address for callers without a valid one (guessing, floods).
    const decision = await this.limiter.take(
      principal?.actor ?? `address:${request.socket.remoteAddress ?? 'unknown'}`,
    );
    if (!decision.allowed) {
      context.switchToHttp().getResponse<Response>().setHeader('Retry-After', decision.retryAfterSeconds);
      throw problems.tooManyRequests(decision.retryAfterSeconds);
    }
    if (principal === null) {
      throw problems.unauthorized();
    }
    setPrincipal(request, principal);
    try {
      await this.authorize(rule, principal, request);
    } catch (error) {
      if (error instanceof ProblemError && [403, 404].includes(error.problem.status)) {
        // A refused attempt on another tenant's objects is what a security team wants to see.
        await this.audit.record(apiCallEntry(request, 'api.denied', error.problem.status));
      }
      throw error;
    }
    return true;
  }

  private async authorize(rule: AccessRule, principal: Principal, request: Request): Promise<void> {
    const ids = this.scope.namedIds(request.params, request.query);
    if (principal.role === 'operator') {
      // Resolved only for calls the audit log records, so a tenant also sees operators' actions.
      const audited = !['GET', 'HEAD', 'OPTIONS'].includes(request.method);
      setRequestTenant(request, ids.tenantId ?? (audited ? await this.scope.ownerOfAny(ids) : undefined));
      return;
    }
    this.checkRole(rule, principal);
    const tenantId = principal.tenantId;
    if (tenantId === undefined) {
      throw new Error(`a ${principal.role} principal without a tenant`);
    }
    setRequestTenant(request, tenantId);
    if (!(await this.scope.confine(ids, tenantId)) && rule.ownTenant !== true) {
      throw problems.forbidden('a tenant token must name its tenant (tenantId)');
    }
    if (rule.level === 'sample' && principal.role === 'tenant-viewer') {
      const tenant = await this.tenants.findTenant(tenantId);
      if (tenant?.viewerSamples !== true) {
        throw problems.forbidden('this tenant does not let viewers download samples');
      }
    }
  }

  /** Role before scope: a viewer's mutation is refused without learning whether the object exists. */
  private checkRole(rule: AccessRule, principal: Principal): void {
    const allowed =
      rule.level === 'read' ||
      rule.level === 'sample' ||
      (rule.level === 'manage' && principal.role === 'tenant-admin');
    if (!allowed) {
      throw problems.forbidden(`a ${principal.role} token may not do this`);
    }
  }
}
