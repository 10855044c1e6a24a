import { createTokenSchema, listTokensSchema } from '../../tokens/tokens.schemas';
import type { OperationRegistry } from '../operation-spec';

const json = 'application/json';

/** Probes, this document, and API tokens (docs/api.md). */
export const PLATFORM_OPERATIONS: OperationRegistry = {
  'GET /healthz': {
    operationId: 'health',
    summary: 'Liveness probe',
    description: 'The process answers.',
    tags: ['health'],
    status: 200,
    response: { description: 'Alive', content: { [json]: 'Health' } },
  },
  'GET /readyz': {
    operationId: 'readiness',
    summary: 'Readiness probe',
    description: 'MongoDB and Redis answer a ping and every service of this process has started.',
    tags: ['health'],
    status: 200,
    response: { description: 'Ready', content: { [json]: 'Readiness' } },
    otherResponses: { '503': { description: 'Not ready', content: { [json]: 'Readiness' } } },
  },
  'GET /openapi.json': {
    operationId: 'openApiDocument',
    summary: 'This OpenAPI document',
    description: 'The OpenAPI 3.1 document of the admin API, generated from the routes.',
    tags: ['docs'],
    status: 200,
    response: { description: 'The document', content: { [json]: 'text' } },
  },
  'GET /docs': {
    operationId: 'docsPage',
    summary: 'Browsable API documentation',
    description: 'An HTML page that renders /openapi.json; served with a strict Content-Security-Policy.',
    tags: ['docs'],
    status: 200,
    response: { description: 'The page', content: { 'text/html': 'text' } },
  },
  'GET /docs/app.js': {
    operationId: 'docsScript',
    summary: 'The script of the documentation page',
    description: 'Same-origin script of /docs (the page allows no inline script).',
    tags: ['docs'],
    status: 200,
    response: { description: 'The script', content: { 'text/javascript': 'text' } },
  },
  'POST /v1/tokens': {
    operationId: 'createToken',
    summary: 'Issue an API token',
    description:
      'Operators issue any token; a tenant admin issues tenant tokens of its own tenant (an operator ' +
      'role is a 403). The secret appears in this answer only.',
    tags: ['tokens'],
    body: createTokenSchema,
    status: 201,
    response: { description: 'The token with its secret', content: { [json]: 'CreatedToken' } },
    errors: [404],
  },
  'GET /v1/tokens': {
    operationId: 'listTokens',
    summary: 'List API tokens',
    description: "All (or one tenant's) for operators, its own tenant's for a tenant admin; never secrets.",
    tags: ['tokens'],
    query: listTokensSchema,
    status: 200,
    response: { description: 'A page of tokens', content: { [json]: 'TokenPage' } },
    errors: [404],
  },
  'DELETE /v1/tokens/{tokenId}': {
    operationId: 'revokeToken',
    summary: 'Revoke an API token',
    description: 'At once, on every replica. An unknown or already revoked token is a 404.',
    tags: ['tokens'],
    status: 200,
    response: { description: 'The revoked token', content: { [json]: 'Token' } },
    errors: [404],
  },
};
