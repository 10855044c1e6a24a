import { smarthostPasswordAad } from '@ser/data';
import type { SmarthostRoute, TenantConfigRepository, TenantDocument } from '@ser/data';
import { SecretBoxError } from '@ser/security';
import type { SecretBox } from '@ser/security';

export interface RoutePasswordRewrapResult {
  rewrapped: number;
  /** Passwords no configured master key opens, left as they are: `route` is the index in `routes`. */
  failed: { tenantId: string; route: number; keyId: string; reason: string }[];
}

/**
 * Re-wraps every smarthost AUTH password not yet under the current master key, like the DKIM
 * keys' rewrap: after it, the previous master key is no longer needed to open them. A tenant's
 * routes are written back only if they are still what was read, so a concurrent PATCH wins.
 */
export async function rewrapRoutePasswords(
  repo: TenantConfigRepository,
  box: SecretBox,
): Promise<RoutePasswordRewrapResult> {
  const result: RoutePasswordRewrapResult = { rewrapped: 0, failed: [] };
  // Filtered here rather than by a dotted path through the array, which FerretDB handles only in part.
  const tenants = repo.tenants.find({ routes: { $exists: true } }, { projection: { _id: 1, routes: 1 } });
  for await (const tenant of tenants) {
    const routes = tenant.routes ?? [];
    let changed = 0;
    const resealed = routes.map((route, index) => {
      const next = resealRoute(box, tenant, route, index, result);
      changed += next === route ? 0 : 1;
      return next;
    });
    if (changed > 0) {
      const updated = await repo.tenants.updateOne(
        { _id: tenant._id, routes },
        { $set: { routes: resealed } },
      );
      result.rewrapped += updated.modifiedCount === 1 ? changed : 0;
    }
  }
  return result;
}

function resealRoute(
  box: SecretBox,
  tenant: Pick<TenantDocument, '_id'>,
  route: SmarthostRoute,
  index: number,
  result: RoutePasswordRewrapResult,
): SmarthostRoute {
  const { auth } = route;
  if (auth === undefined || box.isCurrent(auth.password)) {
    return route;
  }
  const aad = smarthostPasswordAad(tenant._id, {
    host: route.host,
    port: route.port,
    username: auth.username,
  });
  try {
    return { ...route, auth: { ...auth, password: box.reseal(auth.password, aad) } };
  } catch (error) {
    if (!(error instanceof SecretBoxError)) {
      throw error;
    }
    result.failed.push({
      tenantId: tenant._id,
      route: index,
      keyId: auth.password.keyId,
      reason: error.message,
    });
    return route;
  }
}
