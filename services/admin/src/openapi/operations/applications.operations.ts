import {
  applicationsQuerySchema,
  createApplicationSchema,
  createCredentialSchema,
  revokeCredentialSchema,
  updateApplicationSchema,
} from '../../applications/applications.schemas';
import type { OperationRegistry } from '../operation-spec';

const json = 'application/json';

/** Applications and their SMTP credentials (docs/api.md). */
export const APPLICATION_OPERATIONS: OperationRegistry = {
  'POST /v1/tenants/{tenantId}/applications': {
    operationId: 'createApplication',
    summary: 'Create an application',
    description:
      'One sending system of the tenant, with its own credentials and the settings ingress enforces. ' +
      'A new application is active; settings left out are absent from the view.',
    tags: ['applications'],
    body: createApplicationSchema,
    status: 201,
    response: { description: 'The application', content: { [json]: 'Application' } },
    errors: [404],
  },
  'GET /v1/tenants/{tenantId}/applications': {
    operationId: 'listApplications',
    summary: "List a tenant's applications",
    description: 'By id, a page at a time.',
    tags: ['applications'],
    query: applicationsQuerySchema,
    status: 200,
    response: { description: 'A page of applications', content: { [json]: 'ApplicationPage' } },
    errors: [404],
  },
  'GET /v1/applications/{appId}': {
    operationId: 'getApplication',
    summary: 'Read an application',
    description: 'The application with its settings; settings never set are absent.',
    tags: ['applications'],
    status: 200,
    response: { description: 'The application', content: { [json]: 'Application' } },
    errors: [404],
  },
  'PATCH /v1/applications/{appId}': {
    operationId: 'updateApplication',
    summary: 'Change an application (JSON merge patch)',
    description:
      'RFC 7396 merge patch: a field left out is kept, `null` removes an optional setting, `limits` ' +
      'and `scanPolicy` merge key by key, lists are replaced whole. An empty patch is a 400.',
    tags: ['applications'],
    body: updateApplicationSchema,
    status: 200,
    response: { description: 'The updated application', content: { [json]: 'Application' } },
    errors: [404],
  },
  'POST /v1/applications/{appId}/credentials': {
    operationId: 'createCredential',
    summary: 'Create an SMTP credential',
    description:
      'The password is returned in this answer only and stored as a scrypt hash. No body, or no ' +
      '`expiresAt`, makes a credential that never expires.',
    tags: ['credentials'],
    body: createCredentialSchema,
    bodyOptional: true,
    status: 201,
    response: { description: 'The credential with its password', content: { [json]: 'CreatedCredential' } },
    errors: [404],
  },
  'GET /v1/applications/{appId}/credentials': {
    operationId: 'listCredentials',
    summary: "List an application's credentials",
    description:
      'Every credential, revoked and expired ones included, oldest first; never a password or hash.',
    tags: ['credentials'],
    status: 200,
    response: { description: 'The credentials', content: { [json]: ['Credential'] } },
    errors: [404],
  },
  'POST /v1/credentials/{credentialId}/revoke': {
    operationId: 'revokeCredential',
    summary: 'Revoke an SMTP credential',
    description: 'For good; revoking a revoked credential answers the same view. No body, or `{}`.',
    tags: ['credentials'],
    body: revokeCredentialSchema,
    bodyOptional: true,
    status: 200,
    response: { description: 'The revoked credential', content: { [json]: 'Credential' } },
    errors: [404],
  },
  'DELETE /v1/credentials/{credentialId}': {
    operationId: 'deleteCredential',
    summary: 'Revoke an SMTP credential (DELETE form)',
    description: 'The same as POST …/revoke: the credential is revoked, not erased, and answered.',
    tags: ['credentials'],
    status: 200,
    response: { description: 'The revoked credential', content: { [json]: 'Credential' } },
    errors: [404],
  },
};
