import { domainsQuerySchema, verifyDomainSchema } from '../../domains/domains.schemas';
import { createSuppressionSchema, suppressionsQuerySchema } from '../../suppressions/suppressions.schemas';
import {
  activateDkimKeySchema,
  createDkimKeySchema,
  createDomainSchema,
  createTenantSchema,
  retireDkimKeySchema,
  rewrapDkimKeysSchema,
  tenantsQuerySchema,
  updateTenantSchema,
} from '../../tenants/tenant-admin.schemas';
import type { OperationRegistry } from '../operation-spec';

const json = 'application/json';

/** Tenants, domains, DKIM keys, DNS checks and suppression lists (docs/api.md). */
export const TENANT_OPERATIONS: OperationRegistry = {
  'POST /v1/tenants': {
    operationId: 'createTenant',
    summary: 'Create a tenant',
    description: 'A new tenant starts active, with the relay defaults for every policy.',
    tags: ['tenants'],
    body: createTenantSchema,
    status: 201,
    response: { description: 'The tenant', content: { [json]: 'Tenant' } },
  },
  'GET /v1/tenants': {
    operationId: 'listTenants',
    summary: 'List tenants',
    description: 'Every tenant by id for operators; a tenant token sees its own tenant only.',
    tags: ['tenants'],
    query: tenantsQuerySchema,
    status: 200,
    response: { description: 'A page of tenants', content: { [json]: 'TenantPage' } },
  },
  'GET /v1/tenants/{tenantId}': {
    operationId: 'getTenant',
    summary: 'Read a tenant',
    description: 'The tenant with its scan policy and delivery settings once set; passwords are never shown.',
    tags: ['tenants'],
    status: 200,
    response: { description: 'The tenant', content: { [json]: 'Tenant' } },
    errors: [404],
  },
  'PATCH /v1/tenants/{tenantId}': {
    operationId: 'updateTenant',
    summary: 'Change a tenant (JSON merge patch)',
    description:
      'RFC 7396 merge patch: a field left out is kept, `null` removes it, `scanPolicy` merges key by key, ' +
      'delivery settings are replaced whole. An empty patch is a 400. Audited as `tenant.update`.',
    tags: ['tenants'],
    body: updateTenantSchema,
    status: 200,
    response: { description: 'The updated tenant', content: { [json]: 'Tenant' } },
    errors: [404],
  },
  'GET /v1/tenants/{tenantId}/suppressions': {
    operationId: 'listSuppressions',
    summary: "List a tenant's suppressed recipients",
    description: 'Entries by address, a page at a time; expired entries are not shown.',
    tags: ['suppressions'],
    query: suppressionsQuerySchema,
    status: 200,
    response: { description: 'A page of entries', content: { [json]: 'SuppressionPage' } },
    errors: [404],
  },
  'POST /v1/tenants/{tenantId}/suppressions': {
    operationId: 'addSuppression',
    summary: 'Suppress a recipient',
    description:
      'Adds (or replaces with) a `manual` entry; no `expiresAt` means until removed. Audited as `suppression.create`.',
    tags: ['suppressions'],
    body: createSuppressionSchema,
    status: 201,
    response: { description: 'The entry', content: { [json]: 'Suppression' } },
    errors: [404],
  },
  'GET /v1/tenants/{tenantId}/suppressions/{address}': {
    operationId: 'getSuppression',
    summary: 'Read a suppression entry',
    description: 'The entry of this address in the tenant, or 404 (`suppression not found`).',
    tags: ['suppressions'],
    status: 200,
    response: { description: 'The entry', content: { [json]: 'Suppression' } },
    errors: [404],
  },
  'DELETE /v1/tenants/{tenantId}/suppressions/{address}': {
    operationId: 'removeSuppression',
    summary: 'Remove a suppression entry',
    description: 'Egress sends to the address again. Audited as `suppression.delete`.',
    tags: ['suppressions'],
    status: 204,
    response: { description: 'Removed' },
    errors: [404],
  },
  'POST /v1/tenants/{tenantId}/domains': {
    operationId: 'createDomain',
    summary: 'Register a sending domain',
    description:
      'A DNS name, unique across all tenants (409 otherwise). Signing is authorised by the DKIM record.',
    tags: ['domains'],
    body: createDomainSchema,
    status: 201,
    response: { description: 'The domain', content: { [json]: 'Domain' } },
    errors: [404, 409],
  },
  'GET /v1/tenants/{tenantId}/domains': {
    operationId: 'listDomains',
    summary: "List a tenant's domains",
    description: 'By name, a page at a time, each with its verification record.',
    tags: ['domains'],
    query: domainsQuerySchema,
    status: 200,
    response: { description: 'A page of domains', content: { [json]: 'DomainPage' } },
    errors: [404],
  },
  'GET /v1/domains/{domainId}': {
    operationId: 'getDomain',
    summary: 'Read a domain',
    description: 'The domain with the TXT record that proves control of it, and when that was last found.',
    tags: ['domains'],
    status: 200,
    response: { description: 'The domain', content: { [json]: 'Domain' } },
    errors: [404],
  },
  'POST /v1/domains/{domainId}/verify': {
    operationId: 'verifyDomain',
    summary: 'Verify control of a domain',
    description:
      'Looks up the verification TXT record now; 422 saying what was found when it is not there. ' +
      'Audited as `domain.verify`. No body, or `{}`.',
    tags: ['domains'],
    body: verifyDomainSchema,
    bodyOptional: true,
    status: 200,
    response: { description: 'The domain, with verifiedAt', content: { [json]: 'Domain' } },
    errors: [404, 422],
  },
  'POST /v1/domains/{domainId}/dkim-keys': {
    operationId: 'createDkimKey',
    summary: 'Generate or import a DKIM key',
    description:
      'Generates a key pair, or imports `privateKeyPem` (422 if unreadable, encrypted or of another ' +
      'algorithm). The key starts `pending`; publish `dnsRecord`, then activate it. 409 if the selector exists.',
    tags: ['dkim-keys'],
    body: createDkimKeySchema,
    status: 201,
    response: { description: 'The key, with the TXT record to publish', content: { [json]: 'DkimKey' } },
    errors: [404, 409, 422],
  },
  'GET /v1/domains/{domainId}/dkim-keys': {
    operationId: 'listDkimKeys',
    summary: "List a domain's DKIM keys",
    description: 'Every key of the domain, retired ones included, oldest first; never private material.',
    tags: ['dkim-keys'],
    status: 200,
    response: { description: 'The keys', content: { [json]: ['DkimKey'] } },
    errors: [404],
  },
  'POST /v1/dkim-keys/{keyId}/activate': {
    operationId: 'activateDkimKey',
    summary: 'Activate a DKIM key',
    description:
      'Checks that the TXT record publishes the key (422 saying what was found), unless `force` ' +
      '(operators only: 403 for a tenant token). A retired key is a 409. The body may be left out.',
    tags: ['dkim-keys'],
    body: activateDkimKeySchema,
    bodyOptional: true,
    status: 200,
    response: { description: 'The key, with `forced`', content: { [json]: 'DkimKey' } },
    errors: [404, 409, 422],
  },
  'POST /v1/dkim-keys/{keyId}/retire': {
    operationId: 'retireDkimKey',
    summary: 'Retire a DKIM key',
    description:
      "Retires a key for good. The domain's only active key needs `force` (operators only; 409 " +
      'otherwise); a retired key is a 409.',
    tags: ['dkim-keys'],
    body: retireDkimKeySchema,
    bodyOptional: true,
    status: 200,
    response: { description: 'The key, with `forced`', content: { [json]: 'DkimKey' } },
    errors: [404, 409],
  },
  'POST /v1/dkim-keys/rewrap': {
    operationId: 'rewrapSecrets',
    summary: 'Re-wrap secrets under the current master key',
    description:
      'Re-wraps every DKIM private key and smarthost password sealed under another master key; ' +
      'those no configured key opens are listed in `failed`. Harmless to repeat.',
    tags: ['dkim-keys'],
    body: rewrapDkimKeysSchema,
    bodyOptional: true,
    status: 200,
    response: { description: 'Counts and failures', content: { [json]: 'DkimRewrap' } },
  },
  'GET /v1/domains/{domainId}/dns-check': {
    operationId: 'checkDomainDns',
    summary: "Check a domain's DKIM, DMARC and SPF in DNS",
    description:
      'Queries DNS on every call and compares it with what the relay needs, with advice. ' +
      'A DNS failure is a warning, never a 5xx.',
    tags: ['domains'],
    status: 200,
    response: { description: 'The DNS health report', content: { [json]: 'DnsCheck' } },
    errors: [404],
  },
};
