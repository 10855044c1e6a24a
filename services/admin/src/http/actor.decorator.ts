import { createParamDecorator } from '@nestjs/common';
import type { ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';

/** The operator bootstrap token (`SER_ADMIN_TOKEN`); per-tenant tokens will name their own actor. */
export const OPERATOR_ACTOR = 'operator:bootstrap';

const ACTOR = Symbol('actor');

type AuthenticatedRequest = Request & { [ACTOR]?: string };

/** Called by the guard that authenticated the request, with who it is. */
export function setActor(request: Request, actor: string): void {
  (request as AuthenticatedRequest)[ACTOR] = actor;
}

/** Who made the request, as the audit log records it; set by the guard, the one place that knows. */
export function actorOf(request: Request): string {
  const actor = (request as AuthenticatedRequest)[ACTOR];
  if (actor === undefined) {
    // A route that records decisions without a guard is a programming error, not a client error.
    throw new Error('no authenticated actor on this request');
  }
  return actor;
}

/** `@Actor() actor: string` in a guarded controller method. */
export const Actor = createParamDecorator((_data: unknown, context: ExecutionContext): string =>
  actorOf(context.switchToHttp().getRequest<Request>()),
);
