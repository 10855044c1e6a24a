import type { TestDnsServer } from '@ser/testing';
import type { AdminHttp } from '../support/admin-http';
import { BenchmarkFailedError } from '../support/benchmark';

export interface Onboarded {
  tenantId: string;
  domain: string;
  appId: string;
  username: string;
  password: string;
}

/**
 * What an operator does for a new sender, through the admin API: tenant, domain, a DKIM key whose
 * record is published on the loopback DNS (so the activation's DNS check passes, no `force`),
 * an application and its SMTP credential.
 *
 * Two settings differ from the defaults, both to measure the relay rather than a policy: the
 * application's rate limits (600 messages a minute by default) and connection cap are raised, and
 * the spam thresholds are raised so that no generated message is quarantined (the engines still
 * run and score every message; a quarantined message would count as lost).
 */
export async function onboard(http: AdminHttp, dns: TestDnsServer, domain: string): Promise<Onboarded> {
  const tenantId = await http.create('/v1/tenants', { name: 'Pipeline benchmark' });
  await http.json(
    'PATCH',
    `/v1/tenants/${tenantId}`,
    { scanPolicy: { spamQuarantineScore: 50, spamRejectScore: 100 } },
    200,
  );
  const domainId = await http.create(`/v1/tenants/${tenantId}/domains`, { name: domain });
  const key = await http.json('POST', `/v1/domains/${domainId}/dkim-keys`, { algorithm: 'rsa' }, 201);
  const record = key['dnsRecord'] as { name?: unknown; strings?: unknown } | undefined;
  if (typeof key['id'] !== 'string' || typeof record?.name !== 'string' || !Array.isArray(record.strings)) {
    throw new BenchmarkFailedError(`unexpected DKIM key answer: ${JSON.stringify(key)}`);
  }
  dns.set(record.name, 'TXT', [record.strings.map(String)]);
  await http.json('POST', `/v1/dkim-keys/${key['id']}/activate`, {}, 200);
  const appId = await http.create(`/v1/tenants/${tenantId}/applications`, {
    name: 'billing',
    limits: {
      messagesPerMinute: 1_000_000,
      messagesPerDay: 100_000_000,
      recipientsPerDay: 1_000_000_000,
      maxConnections: 10_000,
    },
  });
  const credential = await http.json('POST', `/v1/applications/${appId}/credentials`, {}, 201);
  const { username, password } = credential;
  if (typeof username !== 'string' || typeof password !== 'string') {
    throw new BenchmarkFailedError('the credential answer has no username and password');
  }
  return { tenantId, domain, appId, username, password };
}
