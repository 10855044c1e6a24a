import { RequestMethod } from '@nestjs/common';
import type { Type } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants';
import { ACCESS_RULE } from '../auth/access.decorator';
import type { AccessRule } from '../auth/access.decorator';

/** A route as Nest registers it; `path` in Nest's form (`/v1/tenants/:tenantId`). */
export interface AdminRoute {
  method: string;
  path: string;
  rule: AccessRule;
}

/** What the access guard applies to a route without `@Access` (fail closed). */
const OPERATOR_ONLY: AccessRule = { level: 'operator' };

/**
 * Every route of these controllers, read from the metadata Nest routes by, in declaration order.
 * The OpenAPI generator and the tenant-isolation suite both walk this list, so neither can miss
 * a route a controller declares.
 */
export function adminRoutes(controllers: readonly Type[]): AdminRoute[] {
  const routes: AdminRoute[] = [];
  for (const controller of controllers) {
    const base = String(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
    const proto = controller.prototype as Record<string, unknown>;
    for (const name of Object.getOwnPropertyNames(proto)) {
      const handler = proto[name];
      const routed = name !== 'constructor' && typeof handler === 'function';
      if (!routed || Reflect.getMetadata(PATH_METADATA, handler) === undefined) {
        continue;
      }
      const sub = String(Reflect.getMetadata(PATH_METADATA, handler));
      const method = RequestMethod[Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod];
      // The guard reads the handler's rule first, then the controller's (Reflector.getAllAndOverride).
      const rule = (Reflect.getMetadata(ACCESS_RULE, handler) ??
        Reflect.getMetadata(ACCESS_RULE, controller) ??
        OPERATOR_ONLY) as AccessRule;
      const path = `/${[base, sub].join('/')}`.replace(/\/+/g, '/').replace(/(.)\/$/, '$1');
      routes.push({ method, path, rule });
    }
  }
  return routes;
}

/** The OpenAPI form of a Nest path: `/v1/tenants/:tenantId` → `/v1/tenants/{tenantId}`. */
export const openApiPath = (path: string): string => path.replace(/:(\w+)/g, '{$1}');

/** The registry key of a route: `GET /v1/tenants/{tenantId}`. */
export const routeKey = (route: Pick<AdminRoute, 'method' | 'path'>): string =>
  `${route.method} ${openApiPath(route.path)}`;
