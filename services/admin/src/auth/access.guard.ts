import { TenantConfigRepository } from '@ser/data';
import { Injectable } from '@nestjs/common';
import type { CanActivate, ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { setPrincipal } from '../http/actor.decorator';
import type { Principal } from '../http/actor.decorator';
import { problems } from '../http/problem';
import { ACCESS_RULE } from './access.decorator';
import type { AccessRule } from './access.decorator';
import { ApiTokensService } from '../tokens/api-tokens.service';
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
    if (principal === null) {
      throw problems.unauthorized();
    }
    setPrincipal(request, principal);
    const ids = this.scope.namedIds(request.params, request.query);
    if (principal.role === 'operator') {
      return true;
    }
    this.checkRole(rule, principal);
    const tenantId = principal.tenantId;
    if (tenantId === undefined) {
      throw new Error(`a ${principal.role} principal without a tenant`);
    }
    if (!(await this.scope.confine(ids, tenantId)) && rule.ownTenant !== true) {
      throw problems.forbidden('a tenant token must name its tenant (tenantId)');
    }
    if (rule.level === 'sample' && principal.role === 'tenant-viewer') {
      const tenant = await this.tenants.findTenant(tenantId);
      if (tenant?.viewerSamples !== true) {
        throw problems.forbidden('this tenant does not let viewers download samples');
      }
    }
    return true;
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
