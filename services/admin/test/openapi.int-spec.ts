import { readFileSync } from 'node:fs';
import { OPENAPI_FILE } from '../src/openapi/openapi-file';
import { openApiProblems } from '../src/openapi/openapi-structure.spec-support';
import { startAdminFixture } from './admin-fixture';
import type { AdminFixture } from './admin-fixture';

/** Ids of the right shape that name nothing: each request reaches its route and finds no object. */
const SAMPLE_PARAMS: Readonly<Record<string, string>> = {
  tenantId: 'ten_000000000000000000000000',
  appId: 'app_000000000000000000000000',
  domainId: 'dom_000000000000000000000000',
  keyId: 'dk_000000000000000000000000',
  credentialId: 'cred_000000000000000000000000',
  tokenId: 'tok_000000000000000000000000',
  messageId: '01m8ha0tprsqprekm4bmameanx',
  address: 'nobody@example.com',
};

interface Answer {
  status: number;
  headers: Headers;
  text: string;
}

describe('admin API: the served OpenAPI document and docs page', () => {
  let fixture: AdminFixture | undefined;
  let base: string;
  const committed = JSON.parse(readFileSync(OPENAPI_FILE, 'utf8')) as {
    paths: Record<string, Record<string, unknown>>;
  };

  const call = async (method: string, path: string, token?: string): Promise<Answer> => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: token === undefined ? {} : { authorization: `Bearer ${token}` },
    });
    return { status: response.status, headers: response.headers, text: await response.text() };
  };

  beforeAll(async () => {
    fixture = await startAdminFixture();
    base = `http://127.0.0.1:${fixture.config.SER_ADMIN_PORT}`;
  });

  afterAll(async () => {
    await fixture?.stop();
  });

  it('serves the committed docs/openapi.json at /openapi.json, without a token', async () => {
    const answer = await call('GET', '/openapi.json');
    expect(answer.status).toBe(200);
    expect(answer.headers.get('content-type')).toMatch(/^application\/json\b/);
    // The file is the same document as Prettier formats it; byte equality is the unit test's.
    expect(JSON.parse(answer.text)).toEqual(committed);
    expect(openApiProblems(JSON.parse(answer.text) as Record<string, unknown>)).toEqual([]);
  });

  it('lists only real routes: each operation reaches a handler, none the framework’s "Cannot GET"', async () => {
    const operations = Object.entries(committed.paths).flatMap(([path, item]) =>
      Object.keys(item).map((method) => ({ method: method.toUpperCase(), path })),
    );
    expect(operations.length).toBeGreaterThanOrEqual(40);
    for (const { method, path } of operations) {
      const url = path.replace(/\{(\w+)\}/g, (_, name: string) => {
        const value = SAMPLE_PARAMS[name];
        if (value === undefined) {
          throw new Error(`no sample value for {${name}} in ${path}; add one to SAMPLE_PARAMS`);
        }
        return encodeURIComponent(value);
      });
      const answer = await call(method, url, fixture?.setup.adminToken);
      const problemType = answer.headers.get('content-type')?.startsWith('application/problem+json')
        ? (JSON.parse(answer.text) as { type: string }).type
        : undefined;
      // A route that does not exist is Nest's NotFoundException: the only about:blank 404.
      const unrouted = answer.status === 404 && problemType === 'about:blank';
      expect(`${method} ${path} ${unrouted ? 'has no route' : 'is routed'}`).toBe(
        `${method} ${path} is routed`,
      );
      expect(`${method} ${path} ${answer.status}`).not.toMatch(/ 5\d\d$/);
    }
  });

  it('serves /docs as HTML under a strict Content-Security-Policy, with its script from /docs/app.js', async () => {
    const page = await call('GET', '/docs');
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html\b/);
    const csp = page.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    expect(page.text).toContain('<script src="/docs/app.js"></script>');
    expect(page.text).not.toMatch(/<script>|https?:\/\//);

    const script = await call('GET', '/docs/app.js');
    expect(script.status).toBe(200);
    expect(script.headers.get('content-type')).toMatch(/^text\/javascript\b/);
    expect(script.text).toContain("fetch('/openapi.json')");
  });
});
