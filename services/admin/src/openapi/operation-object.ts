import type { AccessLevel, AccessRule } from '../auth/access.decorator';
import type { BodySchema, ErrorStatus, OperationSpec, ResponseSpec } from './operation-spec';
import { PATH_PARAMETERS } from './path-parameters';
import type { AdminRoute } from './routes';
import { jsonSchemaOf } from './zod-json-schema';
import type { JsonObject } from './zod-json-schema';

/** Who may call a route, in the words of docs/api.md (Roles and tenant scope). */
const ACCESS_TEXT: Record<AccessLevel, string> = {
  public: 'public, no token',
  operator: 'operator tokens only',
  manage: 'operators, and tenant admins within their tenant',
  read: 'every role within its tenant',
  sample: 'every role within its tenant; viewers only when the tenant sets viewerSamples',
};

/** The shared problem answers (`#/components/responses/<name>`), by status. */
export const PROBLEM_RESPONSES = {
  400: 'BadRequest',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'NotFound',
  409: 'Conflict',
  410: 'Gone',
  422: 'Unprocessable',
  429: 'RateLimited',
  503: 'QueryTimeout',
} as const satisfies Record<400 | 401 | 403 | 429 | ErrorStatus, string>;

const QUERY_DESCRIPTIONS: Readonly<Record<string, string>> = {
  limit: 'Page size',
  cursor: 'The nextCursor of the previous page',
};

const ref = (section: 'schemas' | 'responses', name: string): JsonObject => ({
  $ref: `#/components/${section}/${name}`,
});

/** The OpenAPI operation object of one route. */
export function operationObject(route: AdminRoute, spec: OperationSpec): JsonObject {
  const secured = route.rule.level !== 'public';
  const parameters = [...pathParameters(route.path), ...(spec.query ? queryParameters(spec.query) : [])];
  const takesInput = parameters.length > 0 || spec.body !== undefined;
  const errors: (keyof typeof PROBLEM_RESPONSES)[] = [
    ...(takesInput ? [400 as const] : []),
    ...(secured ? [401 as const, 403 as const] : []),
    ...(spec.errors ?? []),
    // Every token and every address is rate limited (SER_ADMIN_RATE_LIMIT_PER_MINUTE).
    ...(secured ? [429 as const] : []),
  ];
  // Integer-like keys keep ascending order in a JS object, so the statuses come out sorted.
  const responses: Record<string, JsonObject> = {
    [String(spec.status)]: responseObject(spec.response),
    ...Object.fromEntries(
      Object.entries(spec.otherResponses ?? {}).map(([status, r]) => [status, responseObject(r)]),
    ),
    ...Object.fromEntries(
      errors.map((status) => [String(status), ref('responses', PROBLEM_RESPONSES[status])]),
    ),
  };
  return {
    operationId: spec.operationId,
    summary: spec.summary,
    description: `${spec.description}\n\nAccess: ${accessText(route.rule)}.`,
    tags: [...spec.tags],
    ...(secured ? {} : { security: [] }),
    'x-ser-access': route.rule.level,
    ...(parameters.length > 0 ? { parameters } : {}),
    ...(spec.body === undefined
      ? {}
      : {
          requestBody: {
            required: spec.bodyOptional !== true,
            content: { 'application/json': { schema: jsonSchemaOf(spec.body) } },
          },
        }),
    responses,
  };
}

function accessText(rule: AccessRule): string {
  const own = rule.ownTenant === true ? ' (a tenant token is served its own tenant)' : '';
  return `${ACCESS_TEXT[rule.level]}${own}`;
}

function pathParameters(path: string): JsonObject[] {
  return [...path.matchAll(/:(\w+)/g)].map(([, name = '']) => {
    const known = PATH_PARAMETERS[name];
    if (known === undefined) {
      throw new Error(`OpenAPI: path parameter :${name} of ${path} is not in PATH_PARAMETERS`);
    }
    return {
      name,
      in: 'path',
      required: true,
      description: known.description,
      schema: { type: 'string', ...(known.pattern === undefined ? {} : { pattern: known.pattern }) },
    };
  });
}

function queryParameters(query: OperationSpec['query'] & object): JsonObject[] {
  const schema = jsonSchemaOf(query);
  const properties = schema.properties as Record<string, JsonObject> | undefined;
  if (schema.type !== 'object' || properties === undefined) {
    throw new Error('OpenAPI: a query schema must be an object of parameters');
  }
  const required = new Set((schema.required as string[] | undefined) ?? []);
  return Object.entries(properties).map(([name, property]) => ({
    name,
    in: 'query',
    required: required.has(name),
    ...(QUERY_DESCRIPTIONS[name] === undefined ? {} : { description: QUERY_DESCRIPTIONS[name] }),
    schema: property,
  }));
}

function responseObject(spec: ResponseSpec): JsonObject {
  if (spec.content === undefined) {
    return { description: spec.description };
  }
  const content = Object.fromEntries(
    Object.entries(spec.content).map(([mediaType, body]) => [mediaType, { schema: bodySchema(body) }]),
  );
  return { description: spec.description, content };
}

function bodySchema(body: BodySchema): JsonObject {
  if (body === 'text') {
    return { type: 'string' };
  }
  if (body === 'binary') {
    // Bytes as they are (a .eml): tools read `format: binary` as "download, do not parse".
    return { type: 'string', format: 'binary' };
  }
  return typeof body === 'string' ? ref('schemas', body) : { type: 'array', items: ref('schemas', body[0]) };
}
