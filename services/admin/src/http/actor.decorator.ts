import type { ApiTokenRole } from '@ser/data';
import { createParamDecorator } from '@nestjs/common';
import type { ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';

/** Who is calling, as the access guard authenticated it. */
export interface Principal {
  /** As the audit log records it: `operator:bootstrap` or `token:<tokenId>`. */
  actor: string;
  role: ApiTokenRole;
  /** The one tenant a `tenant-admin` or `tenant-viewer` token may see; absent for operators. */
  tenantId?: string;
}

/** The operator bootstrap token (`SER_ADMIN_TOKEN`). */
export const BOOTSTRAP_OPERATOR: Principal = { actor: 'operator:bootstrap', role: 'operator' };

const PRINCIPAL = Symbol('principal');
const TENANT = Symbol('tenant');

type AuthenticatedRequest = Request & { [PRINCIPAL]?: Principal; [TENANT]?: string };

/** The tenant a request acts on, as the access guard resolved it (for the audit log). */
export function setRequestTenant(request: Request, tenantId: string | undefined): void {
  (request as AuthenticatedRequest)[TENANT] = tenantId;
}

export function requestTenantOf(request: Request): string | undefined {
  return (request as AuthenticatedRequest)[TENANT];
}

/** Called by the guard that authenticated the request, the one place that knows who it is. */
export function setPrincipal(request: Request, principal: Principal): void {
  (request as AuthenticatedRequest)[PRINCIPAL] = principal;
}

export function principalOf(request: Request): Principal {
  const principal = (request as AuthenticatedRequest)[PRINCIPAL];
  if (principal === undefined) {
    // A route that records decisions without a guard is a programming error, not a client error.
    throw new Error('no authenticated principal on this request');
  }
  return principal;
}

/** Who made the request, as the audit log records it. */
export function actorOf(request: Request): string {
  return principalOf(request).actor;
}

/** `@Actor() actor: string` in a guarded controller method. */
export const Actor = createParamDecorator((_data: unknown, context: ExecutionContext): string =>
  actorOf(context.switchToHttp().getRequest<Request>()),
);

/** `@Caller() caller: Principal` in a guarded controller method. */
export const Caller = createParamDecorator((_data: unknown, context: ExecutionContext): Principal =>
  principalOf(context.switchToHttp().getRequest<Request>()),
);
