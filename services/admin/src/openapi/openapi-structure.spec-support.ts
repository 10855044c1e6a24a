/*
 * A small structural check of an OpenAPI 3.1 document, enough to catch what a generator can get
 * wrong: operations without answers, dangling `$ref`s, path parameters that disagree with the
 * path template, duplicate operation ids, undeclared tags or security schemes.
 */

type Json = { [key: string]: unknown };

const METHODS = new Set(['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace']);
const STATUS = /^(default|[1-5](\d\d|XX))$/;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** RFC 6901 JSON pointer of a local `$ref` (`#/components/schemas/Tenant`). */
function resolvePointer(document: Json, ref: string): unknown {
  if (!ref.startsWith('#/')) {
    return undefined;
  }
  let node: unknown = document;
  for (const raw of ref.slice(2).split('/')) {
    const key = raw.replaceAll('~1', '/').replaceAll('~0', '~');
    node = isObject(node) && Object.hasOwn(node, key) ? node[key] : undefined;
  }
  return node;
}

function collectRefs(node: unknown, found: string[]): string[] {
  if (Array.isArray(node)) {
    node.forEach((item) => collectRefs(item, found));
  } else if (isObject(node)) {
    for (const [key, value] of Object.entries(node)) {
      if (key === '$ref' && typeof value === 'string') {
        found.push(value);
      } else {
        collectRefs(value, found);
      }
    }
  }
  return found;
}

/** Every structural problem of the document; `[]` when there is none. */
export function openApiProblems(document: Json): string[] {
  const problems: string[] = [];
  if (document.openapi !== '3.1.0') {
    problems.push(`openapi is ${String(document.openapi)}, not 3.1.0`);
  }
  const info = document.info;
  if (!isObject(info) || typeof info.title !== 'string' || typeof info.version !== 'string') {
    problems.push('info needs a title and a version');
  }
  for (const ref of collectRefs(document, [])) {
    if (resolvePointer(document, ref) === undefined) {
      problems.push(`$ref ${ref} does not resolve`);
    }
  }
  const components = isObject(document.components) ? document.components : {};
  const schemes = isObject(components.securitySchemes) ? components.securitySchemes : {};
  const tags = new Set(Array.isArray(document.tags) ? document.tags.map((t: Json) => t.name) : []);
  const operationIds = new Map<string, string>();
  const paths = isObject(document.paths) ? document.paths : {};
  const checkSecurity = (where: string, security: unknown): void => {
    for (const requirement of Array.isArray(security) ? security : []) {
      for (const name of Object.keys(isObject(requirement) ? requirement : {})) {
        if (!Object.hasOwn(schemes, name)) {
          problems.push(`${where}: security scheme ${name} is not declared`);
        }
      }
    }
  };
  checkSecurity('document', document.security);
  for (const [path, item] of Object.entries(paths)) {
    if (!path.startsWith('/') || !isObject(item)) {
      problems.push(`path ${path} must start with / and be an object`);
      continue;
    }
    const templated = [...path.matchAll(/\{([^}]+)\}/g)].map((m) => m[1]).sort();
    for (const [method, operation] of Object.entries(item)) {
      const where = `${method.toUpperCase()} ${path}`;
      if (!METHODS.has(method) || !isObject(operation)) {
        problems.push(`${where}: not an HTTP method with an operation`);
        continue;
      }
      problems.push(...operationProblems(document, where, operation, templated, tags));
      checkSecurity(where, operation.security);
      const id = operation.operationId;
      if (typeof id !== 'string') {
        problems.push(`${where}: no operationId`);
      } else if (operationIds.has(id)) {
        problems.push(`${where}: operationId ${id} is also used by ${operationIds.get(id) ?? ''}`);
      } else {
        operationIds.set(id, where);
      }
    }
  }
  return problems;
}

function operationProblems(
  document: Json,
  where: string,
  operation: Json,
  templated: (string | undefined)[],
  tags: Set<unknown>,
): string[] {
  const problems: string[] = [];
  const parameters = (Array.isArray(operation.parameters) ? operation.parameters : []) as Json[];
  const declared = parameters.filter((p) => p.in === 'path');
  if (JSON.stringify(declared.map((p) => p.name).sort()) !== JSON.stringify(templated)) {
    problems.push(`${where}: path parameters ${JSON.stringify(declared.map((p) => p.name))} ≠ the path's`);
  }
  if (declared.some((p) => p.required !== true)) {
    problems.push(`${where}: a path parameter must be required`);
  }
  const keys = parameters.map((p) => `${String(p.in)}:${String(p.name)}`);
  if (new Set(keys).size !== keys.length) {
    problems.push(`${where}: a parameter is declared twice`);
  }
  for (const p of parameters) {
    if (!['query', 'header', 'path', 'cookie'].includes(String(p.in)) || !isObject(p.schema)) {
      problems.push(`${where}: parameter ${String(p.name)} needs a valid in and a schema`);
    }
  }
  const responses = isObject(operation.responses) ? operation.responses : {};
  if (Object.keys(responses).length === 0) {
    problems.push(`${where}: no responses`);
  }
  for (const [status, response] of Object.entries(responses)) {
    const resolved =
      isObject(response) && typeof response.$ref === 'string'
        ? resolvePointer(document, response.$ref)
        : response;
    if (!STATUS.test(status) || !isObject(resolved) || typeof resolved.description !== 'string') {
      problems.push(`${where}: response ${status} needs a status code and a description`);
    }
  }
  for (const tag of Array.isArray(operation.tags) ? operation.tags : []) {
    if (!tags.has(tag)) {
      problems.push(`${where}: tag ${String(tag)} is not declared`);
    }
  }
  return problems;
}
