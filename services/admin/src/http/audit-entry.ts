import type { AuditEntry } from '@ser/data';
import type { Request } from 'express';
import { principalOf, requestTenantOf } from './actor.decorator';

/**
 * The audit entry of one API call: who (the token), what (the route and its ids), from which
 * address (the TCP peer; an `X-Forwarded-For` is kept beside it, as the client claims it), how it
 * ended (the status). `action` is `api.call` for calls that ran, `api.denied` for refused ones.
 */
export function apiCallEntry(
  request: Request,
  action: 'api.call' | 'api.denied',
  status: number,
): AuditEntry {
  const route = (request.route as { path?: unknown } | undefined)?.path;
  const forwardedFor = request.headers['x-forwarded-for'];
  const tenantId = requestTenantOf(request);
  return {
    actor: principalOf(request).actor,
    action,
    ...(tenantId === undefined ? {} : { tenantId }),
    ...(request.socket.remoteAddress === undefined ? {} : { address: request.socket.remoteAddress }),
    target: { type: 'route', id: `${request.method} ${typeof route === 'string' ? route : request.path}` },
    details: {
      status,
      params: { ...request.params },
      ...(typeof forwardedFor === 'string' ? { forwardedFor: forwardedFor.slice(0, 200) } : {}),
    },
  };
}
