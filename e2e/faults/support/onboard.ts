import type { TestDnsServer } from '@ser/testing';

export interface FaultTenant {
  domain: string;
  username: string;
  password: string;
}

/**
 * Onboards one tenant through the admin API, as an operator does (tenant, domain, DKIM key published
 * in the test DNS and activated, application, SMTP credential).
 */
export async function onboardTenant(
  adminUrl: string,
  token: string,
  dns: TestDnsServer,
  domain: string,
): Promise<FaultTenant> {
  const call = async <T>(path: string, body: unknown, expected: number): Promise<T> => {
    const response = await fetch(`${adminUrl}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status !== expected) {
      throw new Error(`POST ${path}: expected ${expected}, got ${response.status} ${text}`);
    }
    return JSON.parse(text) as T;
  };
  const tenant = await call<{ id: string }>('/v1/tenants', { name: `Faults ${domain}` }, 201);
  const dom = await call<{ id: string }>(`/v1/tenants/${tenant.id}/domains`, { name: domain }, 201);
  const key = await call<{ id: string; dnsRecord: { name: string; strings: string[] } }>(
    `/v1/domains/${dom.id}/dkim-keys`,
    { algorithm: 'rsa' },
    201,
  );
  dns.set(key.dnsRecord.name, 'TXT', [key.dnsRecord.strings]);
  await call(`/v1/dkim-keys/${key.id}/activate`, {}, 200);
  const app = await call<{ id: string }>(`/v1/tenants/${tenant.id}/applications`, { name: 'billing' }, 201);
  const credential = await call<{ username: string; password: string }>(
    `/v1/applications/${app.id}/credentials`,
    {},
    201,
  );
  return { domain, ...credential };
}
