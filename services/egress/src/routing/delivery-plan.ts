import type { TlsPolicyName } from '@ser/config';
import type { SmarthostRoute } from '@ser/data';
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';

/** `example.com` matches itself; `.example.com` matches its subdomains (and itself). */
export function domainMatches(pattern: string, domain: string): boolean {
  const p = pattern.toLowerCase();
  const d = domain.toLowerCase();
  return p.startsWith('.') ? d === p.slice(1) || d.endsWith(p) : d === p;
}

/** The tenant's first smarthost route for a recipient domain: one naming no domains takes all mail. */
export function routeFor(
  routes: readonly SmarthostRoute[] | undefined,
  domain: string,
): SmarthostRoute | undefined {
  return (routes ?? []).find(
    (route) =>
      route.domains === undefined ||
      route.domains.length === 0 ||
      route.domains.some((p) => domainMatches(p, domain)),
  );
}

/**
 * The TLS policy for a destination domain (SER_EGRESS_TLS_POLICIES): an exact entry, else the
 * longest `.suffix` entry, else opportunistic.
 */
export function tlsPolicyFor(
  policies: Readonly<Record<string, TlsPolicyName>>,
  domain: string,
): TlsPolicyName {
  const d = domain.toLowerCase();
  const exact = policies[d];
  if (exact !== undefined) {
    return exact;
  }
  const suffixes = Object.keys(policies)
    .filter((p) => p.startsWith('.') && domainMatches(p, d))
    .sort((a, b) => b.length - a.length);
  const best = suffixes[0];
  return best === undefined ? 'opportunistic' : (policies[best] ?? 'opportunistic');
}

/** Orders policies: the stricter wins when two sources (configuration, MTA-STS) both ask. */
const STRENGTH: Record<TlsPolicyName, number> = { none: 0, opportunistic: 1, require: 2, verify: 3 };
export function stricter(a: TlsPolicyName, b: TlsPolicyName): TlsPolicyName {
  return STRENGTH[a] >= STRENGTH[b] ? a : b;
}

/**
 * The local address to bind a connection to `target` from the pool (a tenant's dedicated
 * addresses, else the shared pool): one of the target's IP family, the same for a message on every
 * attempt. `undefined` with an empty pool (the system picks); `null` when the pool has no address
 * of that family (the target cannot be reached from this pool).
 */
export function sourceAddressFor(
  pool: readonly string[],
  target: string,
  key: string,
): string | undefined | null {
  if (pool.length === 0) {
    return undefined;
  }
  const family = isIP(target);
  const candidates = pool.filter((address) => isIP(address) === family);
  if (candidates.length === 0) {
    return null;
  }
  const index = createHash('sha256').update(key).digest().readUInt32BE(0) % candidates.length;
  return candidates[index];
}
