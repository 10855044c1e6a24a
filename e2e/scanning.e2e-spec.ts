import { jobIds } from '@ser/contracts';
import { GridFsMessageStore } from '@ser/mongo';
import { QueueBus } from '@ser/queue';
import { ALL_SERVICES } from '@ser/service-relay';
import { connectTestDatabase, GTUBE, startTcpProxy, waitFor } from '@ser/testing';
import type { TcpProxy } from '@ser/testing';
import { onboardTenant } from './support/onboarding';
import type { OnboardedTenant } from './support/onboarding';
import { startRelayHarness } from './support/relay-harness';
import type { RelayHarness } from './support/relay-harness';

interface MessageView {
  state: string;
  reason?: string;
  scan?: { decision: string; degraded?: string[]; engines: { engine: string; status: string }[] };
  timeline: { type: string; data: Record<string, unknown> }[];
}

/**
 * The scanner's acceptance through the whole relay: SMTP in, real clamd and spamd (each behind a
 * proxy that the test takes down and brings back), operators' decisions through the admin API,
 * delivery to an SMTP sink found through DNS.
 */
describe('scanning through the whole relay', () => {
  let relay: RelayHarness;
  let tenant: OnboardedTenant;
  let clamd: TcpProxy;
  let spamd: TcpProxy;
  let bus: QueueBus;

  beforeAll(async () => {
    clamd = await startTcpProxy({ port: Number(process.env['SER_CLAMD_PORT'] ?? 3310) });
    spamd = await startTcpProxy({ port: Number(process.env['SER_SPAMD_PORT'] ?? 783) });
    relay = await startRelayHarness(
      ALL_SERVICES.map((s) => s.name),
      {
        SER_CLAMD_PORT: String(clamd.port),
        SER_SPAMD_PORT: String(spamd.port),
        SER_SCANNER_ATTEMPTS: '3',
        SER_SCANNER_RETRY_DELAY_MS: '300',
      },
    );
    bus = new QueueBus(relay.config.REDIS_URL, relay.config.SER_QUEUE_PREFIX);
    tenant = await onboardTenant(relay, 'acme.test');
    relay.dns.set('dest.test', 'MX', [{ preference: 10, exchange: 'mx.dest.test' }]);
    relay.dns.set('mx.dest.test', 'A', ['127.0.0.1']);
  });

  afterAll(async () => {
    await bus?.close();
    await relay?.stop();
    await clamd?.close();
    await spamd?.close();
  });

  const send = (content: { subject: string; text?: string; html?: string }): Promise<string> =>
    relay.submit(tenant, { from: 'Billing <billing@acme.test>', to: 'user@dest.test', ...content });

  const view = async (messageId: string): Promise<MessageView> =>
    (await relay.api<MessageView>('GET', `/v1/messages/${messageId}`)).body;

  const messageWhen = (messageId: string, done: (m: MessageView) => boolean, description: string) =>
    relay.messageWhen<MessageView>(messageId, done, description);

  const delivered = (messageId: string) =>
    messageWhen(
      messageId,
      (m) => m.state === 'delivered' && m.timeline.some((e) => e.type === 'delivery.succeeded'),
      `${messageId} delivered`,
    );

  const receivedBySink = (subject: string) =>
    relay.sink.messages.filter((m) => m.raw.toString().includes(`Subject: ${subject}`));

  it('holds a message while clamd is down, never delivers it unscanned, and delivers it after an operator retry', async () => {
    await clamd.stop();
    const messageId = await send({ subject: 'Alarm 17 raised', text: 'Pump 3 pressure low.\r\n' });
    const held = await messageWhen(messageId, (m) => m.state === 'held', 'held');
    expect(held.reason).toBe('av_unavailable');
    expect(held.timeline.map((e) => e.type)).toEqual(['message.accepted', 'message.held']);
    // The last attempt holds the message and then completes: wait for the job to finish.
    const job = await waitFor(async () => {
      const j = await bus.queue('scan').getJob(jobIds.scan(messageId));
      return j?.finishedOn === undefined ? undefined : j;
    });
    expect(job.attemptsMade).toBe(3);
    expect(receivedBySink('Alarm 17 raised')).toHaveLength(0);

    await clamd.start();
    const retry = await relay.api('POST', `/v1/messages/${messageId}/retry`, {});
    expect(retry.status).toBe(200);
    const done = await delivered(messageId);
    expect(done.timeline.map((e) => e.type)).toEqual([
      'message.accepted',
      'message.held',
      'message.retried',
      'message.scanned',
      'message.signed',
      'delivery.attempted',
      'delivery.succeeded',
    ]);
    expect(receivedBySink('Alarm 17 raised')).toHaveLength(1);
    const audit = await relay.api<{ items: { action: string; target: { id: string } }[] }>(
      'GET',
      `/v1/audit?tenantId=${tenant.tenantId}`,
    );
    expect(audit.body.items.filter((a) => a.target.id === messageId).map((a) => a.action)).toEqual([
      'message.retry',
    ]);
  });

  it('delivers while spamd is down, by the default degrade policy, and records that spamd was missing', async () => {
    await spamd.stop();
    try {
      const messageId = await send({ subject: 'Your receipt 881', text: 'Total: 12.00 EUR. Thank you.\r\n' });
      const done = await delivered(messageId);
      expect(done.scan?.engines.map((e) => [e.engine, e.status])).toEqual([
        ['spamscanner', 'ok'],
        ['spamd', 'unavailable'],
      ]);
      expect(done.scan?.degraded).toEqual([expect.stringMatching(/^spamd: /)]);
      const scanned = done.timeline.find((e) => e.type === 'message.scanned');
      expect(scanned?.data['scan']).toMatchObject({ degraded: done.scan?.degraded });
    } finally {
      await spamd.start();
    }
  });

  it('rejects GTUBE and never delivers it', async () => {
    const messageId = await send({ subject: 'Cheap offer', text: `${GTUBE}\r\n` });
    const rejected = await messageWhen(messageId, (m) => m.state === 'rejected_spam', 'rejected as spam');
    expect(rejected.reason).toBe('spam');
    expect(rejected.timeline.map((e) => e.type)).toEqual(['message.accepted', 'message.rejected_spam']);
    expect(receivedBySink('Cheap offer')).toHaveLength(0);
  });

  it('quarantines a phishing link, lists it, and delivers it once an operator releases it', async () => {
    const messageId = await send({
      subject: 'Verify your account',
      html: '<p>Please <a href="https://xn--pypal-4ve.com/login">https://paypal.com/login</a> verify.</p>',
    });
    await messageWhen(messageId, (m) => m.state === 'quarantined', 'quarantined');
    const list = await relay.api<{ items: { id: string; state: string }[] }>(
      'GET',
      `/v1/quarantine?tenantId=${tenant.tenantId}`,
    );
    expect(list.body.items.map((m) => m.id)).toContain(messageId);
    expect(receivedBySink('Verify your account')).toHaveLength(0);

    expect((await relay.api('POST', `/v1/messages/${messageId}/release`, {})).status).toBe(200);
    const done = await delivered(messageId);
    expect(done.timeline.map((e) => e.type)).toEqual([
      'message.accepted',
      'message.quarantined',
      'message.released',
      'message.signed',
      'delivery.attempted',
      'delivery.succeeded',
    ]);
    expect(receivedBySink('Verify your account')).toHaveLength(1);
    // A second release is refused: the decision was taken once.
    expect((await relay.api('POST', `/v1/messages/${messageId}/release`, {})).status).toBe(409);
  });

  it('deletes a quarantined message with its body', async () => {
    const messageId = await send({
      subject: 'Statement ready',
      html: '<p>Your statement: <a href="https://evil.test/s">https://www.mybank.test/statement</a></p>',
    });
    await messageWhen(messageId, (m) => m.state === 'quarantined', 'quarantined');
    expect((await relay.api('DELETE', `/v1/messages/${messageId}`)).status).toBe(204);
    const gone = await messageWhen(
      messageId,
      (m) => m.timeline.some((e) => e.type === 'message.deleted'),
      'deleted event',
    );
    expect(gone.state).toBe('deleted');
    expect(await view(messageId)).toMatchObject({ state: 'deleted' });
    const mongo = await connectTestDatabase('scanning-e2e', relay.config.mongoDb);
    try {
      expect(await new GridFsMessageStore(mongo.db).exists(messageId)).toBe(false);
    } finally {
      await mongo.close();
    }
    expect(receivedBySink('Statement ready')).toHaveLength(0);
  });
});
