import { freePort } from '@ser/testing';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCliHarness } from './cli-harness';
import type { CliHarness, CliRun } from './cli-harness';

interface OnboardJson {
  tenant: { id: string; reused: boolean };
  domain: { id: string; name: string };
  dkimKey: { id: string; selector: string; status: string };
  application: { id: string; allowedFromDomains: string[] };
  credential: { id: string; username: string };
  smtp: { host: string; ports: { port: number; security: string }[]; username: string; password: string };
  dnsRecords: { purpose: string; name: string; value: string; strings?: string[]; required: boolean }[];
  nextSteps: string[];
  activation?: { status: string; detail?: string };
}

/** `ser` in-process against the real admin service (FerretDB, Redis, a loopback DNS server). */
describe('ser CLI against the admin API', () => {
  let h: CliHarness;

  beforeAll(async () => {
    h = await startCliHarness();
  });

  afterAll(async () => {
    await h?.stop();
  });

  const expectNoToken = (run: CliRun): void => {
    expect(run.stdout).not.toContain(h.token);
    expect(run.stderr).not.toContain(h.token);
  };

  async function onboard(domain: string, extra: string[] = []): Promise<OnboardJson> {
    const run = await h.ser([
      'onboard',
      '--tenant',
      `Tenant ${domain}`,
      '--domain',
      domain,
      '--app',
      'billing',
      '--json',
      ...extra,
    ]);
    expect(run).toMatchObject({ code: 0 });
    expect(run.stderr).toMatch(/^✓ tenant ten_[0-9a-f]{24}$/m);
    expectNoToken(run);
    return JSON.parse(run.stdout) as OnboardJson;
  }

  it('onboards in one step and prints SMTP settings and the records to publish (--json)', async () => {
    const result = await onboard('cli-one.test', ['--smtp-host', 'smtp.relay.test']);
    expect(result.smtp).toMatchObject({
      host: 'smtp.relay.test',
      ports: [
        { port: 587, security: 'STARTTLS' },
        { port: 465, security: 'implicit TLS' },
      ],
      username: result.credential.username,
    });
    expect(result.smtp.password.length).toBeGreaterThan(10);
    expect(result.application.allowedFromDomains).toEqual(['cli-one.test']);
    const dkim = result.dnsRecords.find((r) => r.purpose === 'dkim');
    expect(dkim).toMatchObject({
      name: `${result.dkimKey.selector}._domainkey.cli-one.test`,
      required: true,
    });
    expect(dkim?.strings?.join('')).toBe(dkim?.value);
    expect(result.dnsRecords.map((r) => r.purpose)).toEqual(expect.arrayContaining(['spf', 'dmarc']));
    expect(result.nextSteps.join('\n')).toContain(`ser dkim activate ${result.dkimKey.id}`);
  });

  it('prints the human report with the password marked as shown once', async () => {
    const run = await h.ser([
      'onboard',
      '--tenant',
      'Human Ltd',
      '--domain',
      'cli-human.test',
      '--app',
      'crm',
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/password: \S+\n {2}\^ shown once/);
    expect(run.stdout).toMatch(/_domainkey\.cli-human\.test\. {2}IN TXT {2}"v=DKIM1; k=rsa; p=/);
    expect(run.stdout).toContain('_dmarc.cli-human.test.');
  });

  it('reuses an existing tenant by id and its domain, adding a second application', async () => {
    const first = await onboard('cli-reuse.test');
    const run = await h.ser([
      'onboard',
      '--tenant',
      first.tenant.id,
      '--domain',
      'cli-reuse.test',
      '--app',
      'crm',
      '--json',
    ]);
    expect(run.code).toBe(0);
    const second = JSON.parse(run.stdout) as OnboardJson;
    expect(second.tenant).toMatchObject({ id: first.tenant.id, reused: true });
    expect(second.domain.id).toBe(first.domain.id);
    expect(second.dkimKey.id).toBe(first.dkimKey.id);
    expect(second.application.id).not.toBe(first.application.id);
  });

  it('--activate reports a record not yet in DNS (exit 3), then dkim activate succeeds once published', async () => {
    const stdoutRun = await h.ser([
      'onboard',
      '--tenant',
      'Act Ltd',
      '--domain',
      'cli-act.test',
      '--app',
      'a',
      '--json',
      '--activate',
    ]);
    expect(stdoutRun.code).toBe(3);
    const result = JSON.parse(stdoutRun.stdout) as OnboardJson;
    expect(result.activation).toMatchObject({ status: 'pending' });
    expect(stdoutRun.stderr).toContain(`error: the DKIM key ${result.dkimKey.id} is not active yet`);
    const dkim = result.dnsRecords.find((r) => r.purpose === 'dkim')!;
    h.dns.set(dkim.name, 'TXT', [dkim.strings ?? [dkim.value]]);
    const activated = await h.ser(['dkim', 'activate', result.dkimKey.id, '--json']);
    expect(activated.code).toBe(0);
    expect(JSON.parse(activated.stdout)).toMatchObject({ id: result.dkimKey.id, status: 'active' });
  });

  it('lists applications with their credentials (table and --json)', async () => {
    const result = await onboard('cli-apps.test');
    const table = await h.ser(['apps', '--tenant', result.tenant.id]);
    expect(table.code).toBe(0);
    const lines = table.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^ID\s+NAME\s+STATUS\s+ALLOWED FROM\s+CREDENTIALS\s+LAST USED$/);
    expect(lines[1]).toMatch(
      new RegExp(`^${result.application.id}\\s+billing\\s+active\\s+cli-apps\\.test\\s+1\\s+-$`),
    );
    const json = await h.ser(['apps', '--tenant', result.tenant.id, '--json']);
    expect(JSON.parse(json.stdout)).toEqual({
      tenantId: result.tenant.id,
      applications: [
        {
          id: result.application.id,
          name: 'billing',
          status: 'active',
          allowedFrom: ['cli-apps.test'],
          activeCredentials: 1,
        },
      ],
    });
  });

  it('rotates credentials: the new one first, the old ones revoked only with --revoke-old', async () => {
    const result = await onboard('cli-creds.test');
    const kept = await h.ser(['creds', 'rotate', '--app', result.application.id, '--json']);
    expect(kept.code).toBe(0);
    const second = JSON.parse(kept.stdout) as {
      credential: { id: string; password: string };
      stillActive: string[];
    };
    expect(second.stillActive).toEqual([result.credential.id]);
    const revoked = await h.ser([
      'creds',
      'rotate',
      '--app',
      result.application.id,
      '--revoke-old',
      '--json',
    ]);
    const third = JSON.parse(revoked.stdout) as { credential: { id: string }; revoked: string[] };
    expect(third.revoked.sort()).toEqual([result.credential.id, second.credential.id].sort());
    const list = await h.ser(['creds', 'list', '--app', result.application.id, '--json']);
    const states = (JSON.parse(list.stdout) as { id: string; status: string }[]).map((c) => [c.id, c.status]);
    expect(states).toEqual([
      [result.credential.id, 'revoked'],
      [second.credential.id, 'revoked'],
      [third.credential.id, 'active'],
    ]);
  });

  it('shows a problem as error: <title>: <detail> with each path, exit 1, never the token', async () => {
    const run = await h.ser(['onboard', '--tenant', 'Bad Ltd', '--domain', 'not a domain', '--app', 'x']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^error: Invalid request: The request is not valid \(POST \/v1\/tenants\/ten_\w+\/domains\)$/m,
    );
    expect(run.stderr).toMatch(/^ {2}name: .+$/m);
    expectNoToken(run);

    const missing = await h.ser(['messages', 'show', '01m8ha0tprsqprekm4bmameanx']);
    expect(missing).toMatchObject({ code: 1, stdout: '' });
    expect(missing.stderr).toMatch(/^error: Not found: /);
  });

  it('refuses a wrong token (401) and an unreachable API without printing the token', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ser-cli-'));
    writeFileSync(join(dir, 'token'), 'wrong-secret-token\n');
    const wrong = await h.ser([
      'apps',
      '--tenant',
      'ten_000000000000000000000000',
      '--token-file',
      join(dir, 'token'),
    ]);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toMatch(/^error: Unauthorized: A valid bearer token is required/);
    expect(wrong.stderr).not.toContain('wrong-secret-token');

    const closed = `http://127.0.0.1:${await freePort()}`;
    const down = await h.ser(['apps', '--tenant', 'ten_000000000000000000000000'], { SER_API_URL: closed });
    expect(down.code).toBe(1);
    expect(down.stderr).toBe(`error: cannot reach the API at ${closed}: ECONNREFUSED\n`);
    expectNoToken(down);

    const none = await h.ser(['apps', '--tenant', 'ten_000000000000000000000000'], { SER_API_TOKEN: '' });
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^error: no API token/);
  });

  it('rotates a DKIM key and streams the report as the API CSV', async () => {
    const result = await onboard('cli-dkim.test');
    const rotated = await h.ser(['dkim', 'rotate', '--domain', result.domain.id]);
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toMatch(/ser dkim activate dk_[0-9a-f]+/);
    const csv = await h.ser([
      'report',
      '--tenant',
      result.tenant.id,
      '--from',
      '2026-11-01',
      '--to',
      '2026-11-02',
      '--csv',
    ]);
    expect(csv.code).toBe(0);
    expect(csv.stdout.startsWith('metric,key,count\r\n')).toBe(true);
    const table = await h.ser([
      'report',
      '--tenant',
      result.tenant.id,
      '--from',
      '2026-11-01',
      '--to',
      '2026-11-02',
    ]);
    expect(table.stdout).toMatch(/^delivered\s+-\s+0$/m);
  });
});
