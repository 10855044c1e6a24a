import type { RelayHarness } from './relay-harness';

export interface OnboardedTenant {
  tenantId: string;
  domain: string;
  domainId: string;
  keyId: string;
  selector: string;
  appId: string;
  username: string;
  password: string;
}

/** Onboards a tenant through the admin API as an operator would, publishing its DKIM record. */
export async function onboardTenant(relay: RelayHarness, domain: string): Promise<OnboardedTenant> {
  const expectStatus = <T>(result: { status: number; body: T }, status: number, what: string): T => {
    if (result.status !== status) {
      throw new Error(`${what}: expected ${status}, got ${result.status} ${JSON.stringify(result.body)}`);
    }
    return result.body;
  };
  const tenant = expectStatus(
    await relay.api<{ id: string }>('POST', '/v1/tenants', { name: `Tenant ${domain}` }),
    201,
    'tenant',
  );
  const dom = expectStatus(
    await relay.api<{ id: string }>('POST', `/v1/tenants/${tenant.id}/domains`, { name: domain }),
    201,
    'domain',
  );
  const key = expectStatus(
    await relay.api<{ id: string; selector: string; dnsRecord: { name: string; strings: string[] } }>(
      'POST',
      `/v1/domains/${dom.id}/dkim-keys`,
      { algorithm: 'rsa' },
    ),
    201,
    'dkim key',
  );
  relay.dns.set(key.dnsRecord.name, 'TXT', [key.dnsRecord.strings]);
  expectStatus(await relay.api('POST', `/v1/dkim-keys/${key.id}/activate`, {}), 200, 'activate');
  const app = expectStatus(
    await relay.api<{ id: string }>('POST', `/v1/tenants/${tenant.id}/applications`, { name: 'billing' }),
    201,
    'application',
  );
  const credential = expectStatus(
    await relay.api<{ username: string; password: string }>('POST', `/v1/applications/${app.id}/credentials`),
    201,
    'credential',
  );
  return {
    tenantId: tenant.id,
    domain,
    domainId: dom.id,
    keyId: key.id,
    selector: key.selector,
    appId: app.id,
    ...credential,
  };
}
