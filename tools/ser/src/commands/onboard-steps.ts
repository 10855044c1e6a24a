import type { ApiClient } from '../api-client';
import type { DkimKeyView, DomainView, Page, TenantView } from '../api-types';
import { ProblemError } from '../problem';

/** A tenant id as the API issues them; anything else passed to `--tenant` is a new tenant's name. */
export const TENANT_ID = /^ten_[0-9a-f]{24}$/;

export interface Ensured<T> {
  view: T;
  reused: boolean;
}

/** Reuses the tenant named by id, or creates one with this name. */
export async function ensureTenant(api: ApiClient, tenant: string): Promise<Ensured<TenantView>> {
  if (TENANT_ID.test(tenant)) {
    return { view: await api.get<TenantView>(`/v1/tenants/${tenant}`), reused: true };
  }
  return { view: await api.post<TenantView>('/v1/tenants', { name: tenant }), reused: false };
}

/**
 * Registers the domain. For an existing tenant that already has it (`409`), the tenant's domain is
 * reused, so `ser onboard` can add a second application to a domain; a domain of another tenant
 * stays a conflict.
 */
export async function ensureDomain(
  api: ApiClient,
  tenantId: string,
  name: string,
  tenantReused: boolean,
): Promise<Ensured<DomainView>> {
  try {
    return { view: await api.post<DomainView>(`/v1/tenants/${tenantId}/domains`, { name }), reused: false };
  } catch (error) {
    if (!tenantReused || !(error instanceof ProblemError) || error.status !== 409) {
      throw error;
    }
    const existing = await findDomain(api, tenantId, name.trim().toLowerCase());
    if (existing === undefined) {
      throw error;
    }
    return { view: existing, reused: true };
  }
}

async function findDomain(api: ApiClient, tenantId: string, name: string): Promise<DomainView | undefined> {
  let cursor: string | undefined;
  do {
    const page = await api.get<Page<DomainView>>(`/v1/tenants/${tenantId}/domains`, { cursor });
    const found = page.items.find((d) => d.name === name);
    if (found !== undefined) {
      return found;
    }
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return undefined;
}

/**
 * A new DKIM key for a new domain. For a reused domain, its active or pending key of this algorithm
 * is kept (the newest), so running onboard again does not pile up keys to publish.
 */
export async function ensureDkimKey(
  api: ApiClient,
  domainId: string,
  algorithm: 'rsa' | 'ed25519',
  domainReused: boolean,
): Promise<Ensured<DkimKeyView>> {
  if (domainReused) {
    const keys = await api.get<DkimKeyView[]>(`/v1/domains/${domainId}/dkim-keys`);
    const usable = keys.filter(
      (k) => k.algorithm === algorithm && (k.status === 'active' || k.status === 'pending'),
    );
    const newest = usable.at(-1);
    if (newest !== undefined) {
      return { view: newest, reused: true };
    }
  }
  return {
    view: await api.post<DkimKeyView>(`/v1/domains/${domainId}/dkim-keys`, { algorithm }),
    reused: false,
  };
}

export type ActivationOutcome = { status: 'active' } | { status: 'pending'; detail: string };

/** Activates the key; a `422` (the record is not in DNS yet) is an outcome, not a failure. */
export async function tryActivate(api: ApiClient, keyId: string): Promise<ActivationOutcome> {
  try {
    await api.post<DkimKeyView>(`/v1/dkim-keys/${keyId}/activate`, {});
    return { status: 'active' };
  } catch (error) {
    if (error instanceof ProblemError && error.status === 422) {
      return { status: 'pending', detail: error.problem.detail ?? error.message };
    }
    throw error;
  }
}
