import { RESPONSE_COMPONENTS } from './components';
import { operationObject, PROBLEM_RESPONSES } from './operation-object';
import type { OperationRegistry } from './operation-spec';
import { OPERATIONS } from './operations.registry';
import { openApiPath, routeKey } from './routes';
import type { AdminRoute } from './routes';
import { jsonSchemaOf } from './zod-json-schema';
import type { JsonObject } from './zod-json-schema';

/** The routes and the operations registry disagree: the document would not match the API. */
export class OpenApiMismatchError extends Error {
  constructor(
    /** Routes the controllers declare without a registry entry (`METHOD /path`). */
    readonly missing: readonly string[],
    /** Registry entries no controller declares. */
    readonly orphaned: readonly string[],
  ) {
    super(
      [
        'the OpenAPI registry (services/admin/src/openapi/operations/) does not match the routes',
        ...missing.map((key) => `  no entry for route ${key}`),
        ...orphaned.map((key) => `  entry without a route: ${key}`),
      ].join('\n'),
    );
    this.name = 'OpenApiMismatchError';
  }
}

const METHOD_ORDER = ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'];

const TAGS: readonly { name: string; description: string }[] = [
  { name: 'tenants', description: 'Tenants and their policies (operators)' },
  { name: 'domains', description: 'Sending domains and their DNS health' },
  { name: 'dkim-keys', description: 'DKIM keys: generate, import, activate, retire, re-wrap' },
  { name: 'applications', description: 'Sending applications and their settings' },
  { name: 'credentials', description: 'SMTP credentials of applications' },
  { name: 'suppressions', description: 'Recipients egress does not send to' },
  { name: 'messages', description: 'Message search, timelines and raw samples' },
  { name: 'quarantine', description: 'Quarantined and held messages, and the decisions on them' },
  { name: 'audit', description: 'The audit log of decisions' },
  { name: 'reports', description: 'Counts from the statistics buckets, JSON or CSV' },
  { name: 'tokens', description: 'API tokens and roles' },
  { name: 'health', description: 'Probes' },
  { name: 'docs', description: 'This document and its browsable page' },
];

const PROBLEM_TEXT: Record<keyof typeof PROBLEM_RESPONSES, string> = {
  400: 'invalid-request: the body, query or a path id does not match its schema (errors[] lists every issue)',
  401: 'unauthorized: missing, wrong or revoked bearer token',
  403: "forbidden: the token's role may not use this route, or a tenant token names no tenant",
  404: 'not-found: an object named in the path or query does not exist (or belongs to another tenant)',
  409: 'conflict: the object is not in a state the operation accepts, or already exists',
  410: 'gone: the message was deleted by retention or its body is no longer stored',
  422: 'unprocessable: the request is well-formed but cannot be carried out (detail says why)',
  429: 'rate-limited: too many requests this minute for this token or address (see Retry-After)',
  503: 'query-timeout: the report needed longer than SER_ADMIN_REPORT_TIMEOUT_MS; ask for a shorter period',
};

/**
 * The OpenAPI 3.1 document of the admin API: one operation per route the controllers declare,
 * described by its registry entry. Throws `OpenApiMismatchError` unless every route has exactly
 * one entry and every entry a route. Deterministic (sorted paths, no timestamps), so the committed
 * docs/openapi.json can be compared with it.
 */
export function buildOpenApiDocument(
  routes: readonly AdminRoute[],
  registry: OperationRegistry = OPERATIONS,
): JsonObject {
  const specs = matchRoutes(routes, registry);
  const paths: Record<string, Record<string, JsonObject>> = {};
  for (const [route, spec] of specs) {
    const operations = (paths[openApiPath(route.path)] ??= {});
    operations[route.method.toLowerCase()] = operationObject(route, spec);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Secure email relay: admin API',
      version: '1',
      description:
        'Tenants, domains, DKIM keys, applications, credentials, messages, reports and API tokens. ' +
        'Errors are application/problem+json (RFC 9457); lists are cursor-paginated. Prose: docs/api.md.',
    },
    tags: TAGS,
    security: [{ bearerAuth: [] }],
    paths,
    components: {
      securitySchemes: {
        bearerAuth: {
          type: 'http',
          scheme: 'bearer',
          description: 'SER_ADMIN_TOKEN, or an API token from POST /v1/tokens (ser.<tokenId>.<secret>)',
        },
      },
      schemas: Object.fromEntries(
        Object.entries(RESPONSE_COMPONENTS).map(([name, schema]) => [name, jsonSchemaOf(schema)]),
      ),
      responses: Object.fromEntries(
        Object.entries(PROBLEM_RESPONSES).map(([status, name]) => [
          name,
          {
            description: PROBLEM_TEXT[Number(status) as keyof typeof PROBLEM_RESPONSES],
            content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } },
          },
        ]),
      ),
    },
  };
}

/** Each route with its entry, sorted by path and method; a mismatch either way throws. */
function matchRoutes(
  routes: readonly AdminRoute[],
  registry: OperationRegistry,
): [AdminRoute, OperationRegistry[string]][] {
  const keys = routes.map(routeKey);
  const missing = keys.filter((key) => !Object.hasOwn(registry, key));
  const orphaned = Object.keys(registry).filter((key) => !keys.includes(key));
  const duplicated = keys.filter((key, i) => keys.indexOf(key) !== i);
  if (missing.length > 0 || orphaned.length > 0 || duplicated.length > 0) {
    throw new OpenApiMismatchError([...missing, ...duplicated.map((k) => `${k} (declared twice)`)], orphaned);
  }
  const sorted = [...routes].sort(
    (a, b) =>
      compareCodeUnits(openApiPath(a.path), openApiPath(b.path)) ||
      METHOD_ORDER.indexOf(a.method) - METHOD_ORDER.indexOf(b.method),
  );
  return sorted.map((route) => {
    const spec = registry[routeKey(route)];
    if (spec === undefined) {
      throw new OpenApiMismatchError([routeKey(route)], []);
    }
    return [route, spec];
  });
}

/** Not `localeCompare`: its order depends on the ICU data of the Node build. */
const compareCodeUnits = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
