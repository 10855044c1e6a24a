import { existsSync, readFileSync } from 'node:fs';
import { ADMIN_CONTROLLERS } from '../admin.module';
import { buildOpenApiDocument, OpenApiMismatchError } from './openapi-document';
import { formatOpenApiFile, OPENAPI_FILE } from './openapi-file';
import { openApiProblems } from './openapi-structure.spec-support';
import { OPERATIONS } from './operations.registry';
import { adminRoutes, routeKey } from './routes';

const routes = adminRoutes(ADMIN_CONTROLLERS);

describe('the OpenAPI document of the admin API', () => {
  it('has an entry for every route and a route for every entry', () => {
    expect(Object.keys(OPERATIONS).sort()).toEqual(routes.map(routeKey).sort());
  });

  it('is the committed docs/openapi.json, byte for byte', () => {
    const generated = formatOpenApiFile(buildOpenApiDocument(routes));
    const committed = existsSync(OPENAPI_FILE) ? readFileSync(OPENAPI_FILE, 'utf8') : '';
    if (generated !== committed) {
      throw new Error(
        `${OPENAPI_FILE} is out of date with the routes and the registry ` +
          '(services/admin/src/openapi/operations/): run `npm run openapi` and commit the file',
      );
    }
  });

  it('is structurally valid OpenAPI 3.1', () => {
    expect(openApiProblems(buildOpenApiDocument(routes))).toEqual([]);
  });

  it('refuses a route without an entry, naming it', () => {
    const registry = Object.fromEntries(
      Object.entries(OPERATIONS).filter(([key]) => key !== 'GET /v1/audit'),
    );
    expect(() => buildOpenApiDocument(routes, registry)).toThrow(OpenApiMismatchError);
    expect(() => buildOpenApiDocument(routes, registry)).toThrow('no entry for route GET /v1/audit');
  });

  it('refuses an entry without a route, naming it', () => {
    const entry = OPERATIONS['GET /v1/audit'];
    const registry = { ...OPERATIONS, ...(entry ? { 'GET /v1/nowhere': entry } : {}) };
    expect(() => buildOpenApiDocument(routes, registry)).toThrow('entry without a route: GET /v1/nowhere');
  });

  it('documents every /v1 route behind the bearer token, with its access level', () => {
    const document = buildOpenApiDocument(routes) as { paths: Record<string, Record<string, Operation>> };
    for (const [path, operations] of Object.entries(document.paths)) {
      for (const [method, operation] of Object.entries(operations)) {
        const where = `${method} ${path}`;
        expect(`${where} ${operation['x-ser-access']}`).toMatch(/ (public|operator|manage|read|sample)$/);
        if (path.startsWith('/v1/')) {
          // No own `security`: the document-wide bearer requirement applies.
          expect(`${where} ${JSON.stringify(operation.security)}`).toBe(`${where} undefined`);
          expect(Object.keys(operation.responses)).toEqual(expect.arrayContaining(['401', '403']));
        } else {
          expect(`${where} ${JSON.stringify(operation.security)}`).toBe(`${where} []`);
        }
      }
    }
  });
});

interface Operation {
  'x-ser-access': string;
  security?: unknown;
  responses: Record<string, unknown>;
}
