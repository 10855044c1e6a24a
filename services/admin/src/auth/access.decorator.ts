import { SetMetadata } from '@nestjs/common';

/**
 * What a route needs, checked by the AccessGuard before the controller runs:
 * - `public`: no token (health probes);
 * - `operator`: operator tokens only (tenants, policies, master key);
 * - `manage`: operators, and tenant admins within their tenant;
 * - `read`: every role within its tenant (viewers never mutate: no `read` route changes anything);
 * - `sample`: like `read`, but viewers only when their tenant sets `viewerSamples`.
 */
export type AccessLevel = 'public' | 'operator' | 'manage' | 'read' | 'sample';

export interface AccessRule {
  level: AccessLevel;
  /**
   * The route names no tenant, object or `tenantId` and serves the caller's own tenant itself
   * (e.g. `GET /v1/tokens`). Without it, a tenant token must name its tenant.
   */
  ownTenant?: boolean;
}

export const ACCESS_RULE = 'ser:access-rule';

/** Declares what a route needs; a route without it is for operators only (fail closed). */
export const Access = (level: AccessLevel, options: Omit<AccessRule, 'level'> = {}) =>
  SetMetadata(ACCESS_RULE, { level, ...options } satisfies AccessRule);
