import type { RelayConfig, ServiceName } from '@ser/config';
import { createLogger } from '@ser/logger';
import { startServices } from '@ser/runtime';
import type { RunningServices } from '@ser/runtime';
import { ALL_SERVICES } from '@ser/service-relay';
import { freePort, relayTestConfig, startDnsServer, startSmtpSink, waitFor } from '@ser/testing';
import type { SmtpSink, TestDnsServer } from '@ser/testing';
import { createTransport } from 'nodemailer';
import type { SendMailOptions } from 'nodemailer';
import { rmSync } from 'node:fs';

/**
 * The whole relay in this process against the real Redis, FerretDB and clamd that the bootstrap
 * started (REDIS_URL, MONGO_URL, SER_CLAMD_*), with its own database and queue prefix, a DNS
 * server on loopback and an SMTP sink as every recipient's MX.
 */
export interface RelayHarness {
  config: RelayConfig;
  dns: TestDnsServer;
  sink: SmtpSink;
  adminUrl: string;
  adminToken: string;
  submissionPort: number;
  running: RunningServices;
  api<T = Record<string, unknown>>(
    method: string,
    path: string,
    body?: unknown,
  ): Promise<{ status: number; body: T }>;
  /**
   * Submits one message over SMTP (STARTTLS + AUTH on the submission port) as an application
   * would, and returns the relay's message id from the `250` reply.
   */
  submit(credentials: { username: string; password: string }, mail: SendMailOptions): Promise<string>;
  /** Polls `GET /v1/messages/{id}` until `done` holds for the view (60 s at most). */
  messageWhen<T>(messageId: string, done: (view: T) => boolean, description: string): Promise<T>;
  stop(): Promise<void>;
}

export async function startRelayHarness(
  services: readonly ServiceName[] = ALL_SERVICES.map((s) => s.name),
  overrides: Record<string, string | undefined> = {},
): Promise<RelayHarness> {
  const dns = await startDnsServer();
  const sinkPort = await freePort();
  const { config, tls, adminToken, dir } = await relayTestConfig({
    SER_SERVICES: services.join(','),
    SER_DNS_SERVERS: dns.address,
    SER_EGRESS_PORT: String(sinkPort),
    ...overrides,
  });
  const sink = await startSmtpSink({ port: sinkPort, tls, hostname: 'mx.sink.test' });
  const logger = createLogger({ level: config.SER_LOG_LEVEL, pretty: false });
  const running = await startServices(
    ALL_SERVICES.filter((s) => services.includes(s.name)),
    config,
    logger,
  );
  const adminUrl = `http://127.0.0.1:${config.SER_ADMIN_PORT}`;
  const api = async <T>(method: string, path: string, body?: unknown) => {
    const response = await fetch(`${adminUrl}${path}`, {
      method,
      headers: { authorization: `Bearer ${adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await response.text();
    return { status: response.status, body: (text === '' ? {} : JSON.parse(text)) as T };
  };
  return {
    config,
    dns,
    sink,
    adminUrl,
    adminToken,
    submissionPort: config.SER_INGRESS_SUBMISSION_PORT,
    running,
    api,
    submit: async (credentials, mail) => {
      const transport = createTransport({
        host: '127.0.0.1',
        port: config.SER_INGRESS_SUBMISSION_PORT,
        requireTLS: true,
        auth: { user: credentials.username, pass: credentials.password },
        tls: { rejectUnauthorized: false },
      });
      try {
        const info = (await transport.sendMail(mail)) as { response: string };
        const queued = /^250 .*queued as ([0-9a-z]+)/.exec(info.response)?.[1];
        if (queued === undefined) {
          throw new Error(`unexpected reply to the submission: ${info.response}`);
        }
        return queued;
      } finally {
        transport.close();
      }
    },
    messageWhen: <T>(messageId: string, done: (view: T) => boolean, description: string) =>
      waitFor(
        async () => {
          const { status, body } = await api<T>('GET', `/v1/messages/${messageId}`);
          return status === 200 && done(body) ? body : undefined;
        },
        { timeoutMs: 60000, intervalMs: 200, description },
      ),
    stop: async () => {
      await running.stop();
      await Promise.all([sink.close(), dns.close()]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
