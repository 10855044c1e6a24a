import { createTestResolver, verifyWithDkimpy, waitFor } from '@ser/testing';
import { dkimVerify } from 'mailauth/lib/dkim/verify';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { createTransport } from 'nodemailer';
import { startRelayHarness } from './support/relay-harness';
import type { RelayHarness } from './support/relay-harness';

const run = promisify(execFile);
/** The CLI as `npm run build` emits it; e2e tests run from dist. */
const SER = join(__dirname, '..', 'dist', 'tools', 'ser', 'src', 'main.js');

interface OnboardJson {
  tenant: { id: string };
  domain: { name: string };
  dkimKey: { id: string; selector: string };
  smtp: { host: string; ports: { port: number; security: string }[]; username: string; password: string };
  dnsRecords: { purpose: string; name: string; value: string; strings?: string[] }[];
}

/**
 * The acceptance journey of the operator CLI: `ser onboard` run as a process against the relay's
 * admin API, its DKIM record published on the loopback DNS server, `ser dkim activate`, and a
 * message sent with the printed SMTP settings that reaches the MX with a DKIM signature that verifies.
 */
describe('ser onboard through the whole relay', () => {
  let relay: RelayHarness;

  beforeAll(async () => {
    relay = await startRelayHarness();
    relay.dns.set('dest.test', 'MX', [{ preference: 10, exchange: 'mx.dest.test' }]);
    relay.dns.set('mx.dest.test', 'A', ['127.0.0.1']);
  });

  afterAll(async () => {
    await relay?.stop();
  });

  /** Runs the built `ser` with the harness's API and token in the environment, never as arguments. */
  async function ser(args: string[]): Promise<{ stdout: string; stderr: string }> {
    return run(process.execPath, [SER, ...args], {
      env: {
        ...process.env,
        SER_API_URL: relay.adminUrl,
        SER_API_TOKEN: relay.adminToken,
        SER_INGRESS_SUBMISSION_PORT: String(relay.config.SER_INGRESS_SUBMISSION_PORT),
        SER_INGRESS_SUBMISSIONS_PORT: String(relay.config.SER_INGRESS_SUBMISSIONS_PORT),
      },
    });
  }

  it('gives credentials that send a message delivered with a verified, aligned DKIM signature', async () => {
    const onboarded = await ser([
      'onboard',
      '--tenant',
      'Acme CLI',
      '--domain',
      'cli.acme.test',
      '--app',
      'billing',
      '--smtp-host',
      '127.0.0.1',
      '--json',
    ]);
    expect(onboarded.stderr).toMatch(/^✓ credential cred_/m);
    expect(onboarded.stderr + onboarded.stdout).not.toContain(relay.adminToken);
    const result = JSON.parse(onboarded.stdout) as OnboardJson;
    const submission = result.smtp.ports.find((p) => p.security === 'STARTTLS');
    expect(submission?.port).toBe(relay.submissionPort);

    const dkim = result.dnsRecords.find((r) => r.purpose === 'dkim')!;
    relay.dns.set(dkim.name, 'TXT', [dkim.strings ?? [dkim.value]]);
    const activated = await ser(['dkim', 'activate', result.dkimKey.id, '--json']);
    expect(JSON.parse(activated.stdout)).toMatchObject({
      id: result.dkimKey.id,
      status: 'active',
      forced: false,
    });

    const transport = createTransport({
      host: result.smtp.host,
      port: submission!.port,
      requireTLS: true,
      auth: { user: result.smtp.username, pass: result.smtp.password },
      tls: { rejectUnauthorized: false },
    });
    const info = (await transport
      .sendMail({
        from: 'Billing <billing@cli.acme.test>',
        to: 'user@dest.test',
        subject: 'Onboarded by ser',
        text: 'Your invoice is attached.\r\n',
      })
      .finally(() => transport.close())) as { response: string };
    const messageId = /queued as ([0-9a-z]+)/.exec(info.response)?.[1];
    expect(messageId).toBeDefined();

    const received = await waitFor(
      () => relay.sink.messages.find((m) => m.raw.toString().includes('Subject: Onboarded by ser')),
      { timeoutMs: 60000, description: 'the message at the sink' },
    );
    const resolver = createTestResolver(relay.dns);
    const { results } = await dkimVerify(received.raw, {
      resolver: (name, type) => resolver.resolve(name, type as 'TXT'),
    });
    expect(
      results.map((r) => ({
        result: r.status.result,
        domain: r.signingDomain,
        selector: r.selector,
        aligned: r.status.aligned,
      })),
    ).toEqual([
      {
        result: 'pass',
        domain: 'cli.acme.test',
        selector: result.dkimKey.selector,
        aligned: 'cli.acme.test',
      },
    ]);
    expect(verifyWithDkimpy(received.raw, { [dkim.name]: dkim.value })).toEqual([
      expect.objectContaining({ valid: true, selector: result.dkimKey.selector }),
    ]);

    await relay.messageWhen<{ state: string }>(messageId!, (m) => m.state === 'delivered', 'delivered');
    const shown = await ser(['messages', 'show', messageId!]);
    expect(shown.stdout).toMatch(/^state: +delivered$/m);
    expect(shown.stdout).toMatch(/^user@dest\.test +delivered +1 +250/m);
  });
});
