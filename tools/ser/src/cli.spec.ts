import { PassThrough } from 'node:stream';
import { runCli } from './cli';

interface Call {
  url: string;
  method: string;
  headers: Record<string, string>;
  body?: string;
}

/** A fetch answering from a table of `METHOD path` → [status, body], recording each call. */
function fakeFetch(answers: Record<string, [number, unknown]>, calls: Call[]): typeof fetch {
  return (input, init) => {
    const url = new URL(input instanceof Request ? input.url : input);
    const method = init?.method ?? 'GET';
    calls.push({
      url: url.toString(),
      method,
      headers: init?.headers as Record<string, string>,
      body: init?.body as string,
    });
    const [status, body] = answers[`${method} ${url.pathname}`] ?? [
      404,
      { title: 'Not found', detail: 'no route' },
    ];
    const headers: Record<string, string> = {
      'content-type': status >= 400 ? 'application/problem+json' : 'application/json',
      ...(status === 429 ? { 'retry-after': '7' } : {}),
    };
    return Promise.resolve(new Response(JSON.stringify(body), { status, headers }));
  };
}

async function ser(
  argv: string[],
  answers: Record<string, [number, unknown]>,
  env: Record<string, string> = {},
) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c: Buffer) => (out += c.toString()));
  stderr.on('data', (c: Buffer) => (err += c.toString()));
  const calls: Call[] = [];
  const code = await runCli(
    argv,
    { SER_API_TOKEN: 'tok-secret', ...env },
    { stdout, stderr },
    fakeFetch(answers, calls),
  );
  return { code, stdout: out, stderr: err, calls };
}

const TENANT = 'ten_1182678fb7ab9bc4e99a6cac';
const KEY = {
  id: 'dk_1',
  domainId: 'dom_1',
  domain: 'example.com',
  selector: 's1',
  algorithm: 'rsa',
  status: 'pending',
  dnsRecord: {
    name: 's1._domainkey.example.com',
    type: 'TXT',
    value: 'v=DKIM1; p=X',
    strings: ['v=DKIM1; p=X'],
  },
};
const ONBOARD_ANSWERS: Record<string, [number, unknown]> = {
  'POST /v1/tenants': [201, { id: TENANT, name: 'Example Ltd' }],
  [`POST /v1/tenants/${TENANT}/domains`]: [
    201,
    { id: 'dom_1', tenantId: TENANT, name: 'example.com', verifiedAt: null },
  ],
  'POST /v1/domains/dom_1/dkim-keys': [201, KEY],
  [`POST /v1/tenants/${TENANT}/applications`]: [
    201,
    { id: 'app_1', tenantId: TENANT, name: 'billing', status: 'active', allowedFromDomains: ['example.com'] },
  ],
  'POST /v1/applications/app_1/credentials': [
    201,
    { id: 'cred_1', appId: 'app_1', username: 'u1', password: 'pw1', status: 'active' },
  ],
};

describe('runCli', () => {
  it('onboards with the requests in order and the token only in the Authorization header', async () => {
    const run = await ser(
      ['onboard', '--tenant', 'Example Ltd', '--domain', 'Example.COM', '--app', 'billing', '--json'],
      ONBOARD_ANSWERS,
    );
    expect(run.code).toBe(0);
    expect(run.calls.map((c) => `${c.method} ${new URL(c.url).pathname} ${c.body ?? ''}`)).toEqual([
      'POST /v1/tenants {"name":"Example Ltd"}',
      `POST /v1/tenants/${TENANT}/domains {"name":"example.com"}`,
      'POST /v1/domains/dom_1/dkim-keys {"algorithm":"rsa"}',
      `POST /v1/tenants/${TENANT}/applications {"name":"billing","allowedFromDomains":["example.com"]}`,
      'POST /v1/applications/app_1/credentials {}',
    ]);
    expect(run.calls.every((c) => c.headers['authorization'] === 'Bearer tok-secret')).toBe(true);
    expect(run.calls[0]?.url.startsWith('http://127.0.0.1:8080/')).toBe(true);
    expect(run.stderr).toBe(
      `✓ tenant ${TENANT}\n✓ domain dom_1 example.com\n✓ dkim key dk_1 selector s1 (pending)\n✓ application app_1 billing\n✓ credential cred_1 u1\n`,
    );
    const json = JSON.parse(run.stdout) as { smtp: { password: string }; dnsRecords: { purpose: string }[] };
    expect(json.smtp.password).toBe('pw1');
    expect(json.dnsRecords.map((r) => r.purpose)).toEqual(['dkim', 'spf', 'dmarc']);
    expect(run.stdout + run.stderr).not.toContain('tok-secret');
  });

  it('--activate keeps the printed credential when activation fails, and exits 3', async () => {
    const run = await ser(
      [
        'onboard',
        '--tenant',
        'Example Ltd',
        '--domain',
        'example.com',
        '--app',
        'billing',
        '--json',
        '--activate',
      ],
      { ...ONBOARD_ANSWERS, 'POST /v1/dkim-keys/dk_1/activate': [500, { title: 'Internal Server Error' }] },
    );
    expect(run.code).toBe(3);
    const json = JSON.parse(run.stdout) as { smtp: { password: string }; activation: unknown };
    expect(json.smtp.password).toBe('pw1');
    expect(json.activation).toEqual({
      status: 'pending',
      detail: 'Internal Server Error (POST /v1/dkim-keys/dk_1/activate)',
    });
    expect(run.stderr).toMatch(/error: the DKIM key dk_1 is not active yet\n$/);
  });

  it('stops at the first refusal with the problem, its paths and exit 1', async () => {
    const run = await ser(['onboard', '--tenant', 'Example Ltd', '--domain', 'x', '--app', 'a'], {
      ...ONBOARD_ANSWERS,
      [`POST /v1/tenants/${TENANT}/domains`]: [
        400,
        {
          title: 'Invalid request',
          detail: 'The request is not valid',
          errors: [{ path: 'name', message: 'not a DNS name' }],
        },
      ],
    });
    expect(run).toMatchObject({ code: 1, stdout: '' });
    expect(run.stderr).toBe(
      `✓ tenant ${TENANT}\nerror: Invalid request: The request is not valid (POST /v1/tenants/${TENANT}/domains)\n  name: not a DNS name\n`,
    );
  });

  it('says when to retry a rate-limited request', async () => {
    const run = await ser(['creds', 'list', '--app', 'app_1'], {
      'GET /v1/applications/app_1/credentials': [
        429,
        { title: 'Too many requests', detail: 'rate limit exceeded' },
      ],
    });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      'error: Too many requests: rate limit exceeded (GET /v1/applications/app_1/credentials)\n  retry after 7 s\n',
    );
  });

  it('answers usage errors with exit 2 and help with exit 0', async () => {
    expect((await ser([], {})).code).toBe(2);
    expect(await ser(['--help'], {})).toMatchObject({ code: 0, stderr: '' });
    expect((await ser(['frobnicate'], {})).stderr).toMatch(/^error: unknown command "frobnicate"/);
    const group = await ser(['dkim'], {});
    expect(group.code).toBe(2);
    expect(group.stderr).toContain('dkim activate <keyId>');
    const help = await ser(['dkim', 'activate', '--help'], {});
    expect(help).toMatchObject({ code: 0, calls: [] });
    expect(help.stdout).toMatch(/^usage: ser dkim activate <keyId> \[--force\]/);
    expect((await ser(['apps'], {})).stderr).toBe('error: missing required option --tenant\n');
  });

  it('needs a token and never takes one from the URL', async () => {
    expect((await ser(['apps', '--tenant', TENANT], {}, { SER_API_TOKEN: '' })).code).toBe(2);
    const url = await ser(['apps', '--tenant', TENANT, '--api', 'http://user:pw@h'], {});
    expect(url).toMatchObject({ code: 2 });
    expect(url.stderr).not.toContain('pw@');
  });
});
