import type { RelayConfig } from '@ser/config';
import { createLogger } from '@ser/logger';
import { startServices } from '@ser/runtime';
import type { RunningServices } from '@ser/runtime';
import { ALL_SERVICES } from '@ser/service-relay';
import { freePort, relayTestConfig, startDnsServer, startSmtpSink, waitFor } from '@ser/testing';
import type { SmtpSink, TestDnsServer } from '@ser/testing';
import { createTransport } from 'nodemailer';
import { generateKeyPairSync } from 'node:crypto';
import { rmSync } from 'node:fs';
import { Writable } from 'node:stream';

interface LogLine {
  level: number;
  time: number;
  code: string;
  msg: string;
  messageId?: string;
  tenantId?: string;
  appId?: string;
  [field: string]: unknown;
}

interface Sender {
  tenantId: string;
  appId: string;
  username: string;
  password: string;
}

interface MessageView {
  state: string;
  timeline: { type: string }[];
}

const WRONG_PASSWORD = 'not-the-password-4f1c9e';
const SMARTHOST_PASSWORD = 'smarthost-password-8d2a7b';
const DKIM_PEM = generateKeyPairSync('rsa', { modulusLength: 2048 })
  .privateKey.export({ type: 'pkcs8', format: 'pem' })
  .toString();

/**
 * The JSON lines the whole relay writes while two tenants' messages go through it: SMTP
 * (STARTTLS + AUTH) in, the real Redis, FerretDB and clamd, an SMTP sink as the MX, and the admin
 * API with an operator token and a tenant's API token. The lines go to a stream this test reads,
 * through the same logger factory the relay's main uses.
 */
describe('log lines of a message flow', () => {
  let output = '';
  let config: RelayConfig;
  let adminToken: string;
  let dir: string;
  let dns: TestDnsServer;
  let sink: SmtpSink;
  let running: RunningServices | undefined;
  let senders: { a: Sender; b: Sender };
  let apiToken: string;
  const messages = new Map<string, Sender>();

  const lines = (): string[] => output.split('\n').filter((line) => line !== '');
  const parsed = (): LogLine[] => lines().map((line) => JSON.parse(line) as LogLine);

  const api = async <T>(method: string, path: string, body?: unknown, token = adminToken) => {
    const response = await fetch(`http://127.0.0.1:${config.SER_ADMIN_PORT}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    if (response.status >= 300) {
      throw new Error(`${method} ${path}: ${response.status} ${text}`);
    }
    return (text === '' ? {} : JSON.parse(text)) as T;
  };

  const onboard = async (domain: string, key: { privateKeyPem?: string }): Promise<Sender> => {
    const tenant = await api<{ id: string }>('POST', '/v1/tenants', { name: `Tenant ${domain}` });
    const dom = await api<{ id: string }>('POST', `/v1/tenants/${tenant.id}/domains`, { name: domain });
    const dkim = await api<{ id: string; dnsRecord: { name: string; strings: string[] } }>(
      'POST',
      `/v1/domains/${dom.id}/dkim-keys`,
      { algorithm: 'rsa', ...key },
    );
    dns.set(dkim.dnsRecord.name, 'TXT', [dkim.dnsRecord.strings]);
    await api('POST', `/v1/dkim-keys/${dkim.id}/activate`, {});
    const app = await api<{ id: string }>('POST', `/v1/tenants/${tenant.id}/applications`, {
      name: 'billing',
    });
    const credential = await api<{ username: string; password: string }>(
      'POST',
      `/v1/applications/${app.id}/credentials`,
    );
    return { tenantId: tenant.id, appId: app.id, ...credential };
  };

  const submit = async (sender: { username: string; password: string }, from: string): Promise<string> => {
    const transport = createTransport({
      host: '127.0.0.1',
      port: config.SER_INGRESS_SUBMISSION_PORT,
      requireTLS: true,
      auth: { user: sender.username, pass: sender.password },
      tls: { rejectUnauthorized: false },
    });
    try {
      const info = (await transport.sendMail({
        from,
        to: 'user@dest.test',
        subject: 'Your receipt',
        text: 'Thank you for your order.\r\n',
      })) as { response: string };
      const queued = /queued as ([0-9a-z]+)/.exec(info.response)?.[1];
      if (queued === undefined) {
        throw new Error(`unexpected reply: ${info.response}`);
      }
      return queued;
    } finally {
      transport.close();
    }
  };

  const stop = async (): Promise<void> => {
    const services = running;
    running = undefined;
    await services?.stop();
  };

  beforeAll(async () => {
    dns = await startDnsServer();
    const sinkPort = await freePort();
    const setup = await relayTestConfig({
      SER_DNS_SERVERS: dns.address,
      SER_EGRESS_PORT: String(sinkPort),
      SER_LOG_LEVEL: 'debug',
    });
    ({ config, adminToken, dir } = setup);
    sink = await startSmtpSink({ port: sinkPort, tls: setup.tls, hostname: 'mx.sink.test' });
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        output += chunk.toString();
        done();
      },
    });
    const logger = createLogger({ level: 'debug', pretty: false, destination });
    running = await startServices(ALL_SERVICES, config, logger);
    dns.set('dest.test', 'MX', [{ preference: 10, exchange: 'mx.dest.test' }]);
    dns.set('mx.dest.test', 'A', ['127.0.0.1']);

    senders = {
      a: await onboard('acme.test', { privateKeyPem: DKIM_PEM }),
      b: await onboard('globex.test', {}),
    };
    ({ token: apiToken } = await api<{ token: string }>('POST', '/v1/tokens', {
      name: 'dashboard',
      role: 'tenant-viewer',
      tenantId: senders.a.tenantId,
    }));
    await api('PATCH', `/v1/tenants/${senders.b.tenantId}`, {
      routes: [
        {
          domains: ['elsewhere.test'],
          host: 'smarthost.test',
          port: 587,
          tls: 'verify',
          auth: { username: 'relay', password: SMARTHOST_PASSWORD },
        },
      ],
    });

    await expect(submit({ ...senders.a, password: WRONG_PASSWORD }, 'billing@acme.test')).rejects.toThrow(
      /535/,
    );
    const [a, b] = await Promise.all([
      submit(senders.a, 'Billing <billing@acme.test>'),
      submit(senders.b, 'Billing <billing@globex.test>'),
    ]);
    messages.set(a, senders.a).set(b, senders.b);
    await sink.waitForMessages(2, 60000);
    for (const [messageId, sender] of messages) {
      await waitFor(
        async () => {
          const token = sender === senders.a ? apiToken : adminToken;
          const view = await api<MessageView>('GET', `/v1/messages/${messageId}`, undefined, token);
          return view.state === 'delivered' && view.timeline.some((e) => e.type === 'delivery.succeeded');
        },
        { timeoutMs: 60000, intervalMs: 200, description: `message ${messageId} delivered` },
      );
      await waitFor(
        () =>
          parsed().some(
            (line) =>
              line.messageId === messageId &&
              line.code === 'REPORTING_EVENT_RECORDED' &&
              line['eventType'] === 'delivery.succeeded',
          ),
        { timeoutMs: 30000, description: `delivery of ${messageId} recorded by reporting` },
      );
    }
    await stop();
  });

  afterAll(async () => {
    await stop();
    await Promise.all([sink?.close(), dns?.close()]);
    if (dir !== undefined) {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('writes every line as JSON with level, time, code and msg, and no field twice', () => {
    expect(lines().length).toBeGreaterThan(20);
    const bad = lines().filter((line) => {
      const fields = JSON.parse(line) as Partial<LogLine>;
      return (
        typeof fields.level !== 'number' ||
        typeof fields.time !== 'number' ||
        typeof fields.code !== 'string' ||
        !/^[A-Z]+(_[A-Z0-9]+)+$/.test(fields.code) ||
        typeof fields.msg !== 'string' ||
        fields.msg === '' ||
        // A field written twice (a binding and a line field of the same name) parses to one.
        JSON.stringify(fields) !== line
      );
    });
    expect(bad).toEqual([]);
  });

  it('puts the tenant and application of the message on every line with a message id', () => {
    const about = parsed().filter((line) => line.messageId !== undefined);
    expect(about.length).toBeGreaterThan(0);
    const wrong = about.filter((line) => {
      const sender = messages.get(line.messageId ?? '');
      return sender === undefined || line.tenantId !== sender.tenantId || line.appId !== sender.appId;
    });
    expect(wrong).toEqual([]);
  });

  it('logs every stage of each message with its message id and tenant', () => {
    for (const [messageId, sender] of messages) {
      const own = parsed().filter((line) => line.messageId === messageId);
      const codes = new Set(own.map((line) => line.code));
      expect([...codes]).toEqual(
        expect.arrayContaining([
          'INGRESS_MESSAGE_ACCEPTED',
          'SCANNER_MESSAGE_SCANNED',
          'SIGNER_MESSAGE_SIGNED',
          'EGRESS_DELIVERY_ATTEMPTED',
          'REPORTING_EVENT_RECORDED',
        ]),
      );
      expect(own.find((line) => line.code === 'SCANNER_MESSAGE_SCANNED')).toMatchObject({
        tenantId: sender.tenantId,
        jobId: `${messageId}.scan`,
        queue: 'ser.scan.v1',
        attempt: expect.any(Number) as unknown,
      });
      expect(own.find((line) => line.code === 'EGRESS_DELIVERY_ATTEMPTED')).toMatchObject({
        tenantId: sender.tenantId,
        appId: sender.appId,
        domain: 'dest.test',
        results: { delivered: 1 },
      });
      const recorded = own
        .filter((line) => line.code === 'REPORTING_EVENT_RECORDED')
        .map((line) => line['eventType']);
      expect(recorded).toEqual(
        expect.arrayContaining([
          'message.accepted',
          'message.scanned',
          'message.signed',
          'delivery.succeeded',
        ]),
      );
    }
  });

  it('never writes a password, token, private key or the master key', () => {
    const secrets: [string, string][] = [
      ['SMTP password of tenant a', senders.a.password],
      ['SMTP password of tenant b', senders.b.password],
      ['the refused SMTP password', WRONG_PASSWORD],
      ['the API token', apiToken],
      ['the API token secret', apiToken.split('.').at(-1) ?? apiToken],
      ['the operator token', adminToken],
      ['the master key', config.SER_MASTER_KEY ?? ''],
      ['the smarthost password', SMARTHOST_PASSWORD],
      ['the DKIM private key', DKIM_PEM],
      ...DKIM_PEM.split('\n')
        .filter((line) => line.length === 64)
        .map((line, i): [string, string] => [`line ${i + 2} of the DKIM private key`, line]),
    ];
    expect(secrets.every(([, secret]) => secret.length >= 16)).toBe(true);
    const found = secrets.filter(([, secret]) => output.includes(secret)).map(([what]) => what);
    expect(found).toEqual([]);
  });
});
