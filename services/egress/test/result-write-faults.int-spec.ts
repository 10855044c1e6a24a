import { loadConfig } from '@ser/config';
import { jobIds } from '@ser/contracts';
import { freePort, startDnsServer, startSmtpSink, startTcpProxy, waitFor } from '@ser/testing';
import type { ReceivedMessage, SmtpReply, SmtpSink, TcpProxy, TestDnsServer } from '@ser/testing';
import { setTimeout as delay } from 'node:timers/promises';
import { startEgressFixture } from './egress-fixture';
import type { EgressFixture } from './egress-fixture';

/**
 * Invariant 3: once the MX has answered, the outcome is known, and a database that fails while
 * egress records it must not make egress send again. The egress under test reaches the database
 * through a TCP proxy the test takes down (or makes lose its replies) at the moment the sink has
 * the whole message, i.e. just before egress writes the results; the test reads the database
 * directly.
 */
describe('egress when the database fails right after the transaction', () => {
  let dns: TestDnsServer;
  let sink: SmtpSink;

  beforeAll(async () => {
    dns = await startDnsServer();
    sink = await startSmtpSink({ port: await freePort() });
    dns.set('dest.test', 'MX', [{ preference: 10, exchange: 'mx.dest.test' }]);
    dns.set('mx.dest.test', 'A', ['127.0.0.1']);
  });

  afterAll(async () => {
    await Promise.all([sink?.close(), dns?.close()]);
  });

  afterEach(() => {
    sink.setDataReply(undefined);
  });

  const received = (subject: string) =>
    sink.messages.filter((m) => m.raw.toString().includes(`Subject: ${subject}\r\n`));

  /**
   * Runs `action` once, when the message with `subject` has reached the sink (before the sink's
   * reply to the final dot, so before egress records anything), and answers with `reply`.
   */
  const onArrival = (subject: string, action: () => void, reply?: SmtpReply): void => {
    let done = false;
    sink.setDataReply((message: ReceivedMessage) => {
      if (done || !message.raw.toString().includes(`Subject: ${subject}\r\n`)) {
        return undefined;
      }
      done = true;
      action();
      return reply;
    });
  };

  describe('with the default record timeout', () => {
    let proxy: TcpProxy;
    let egress: EgressFixture;

    beforeAll(async () => {
      ({ proxy, egress } = await startProxiedEgress(dns, sink, {}));
    });

    afterAll(async () => {
      await proxy?.start();
      await egress?.stop();
      await proxy?.close();
    });

    it('records the result once the database is back, without sending again', async () => {
      const id = await egress.signedMessage(['refused@dest.test'], { subject: 'db refused' });
      onArrival('db refused', () => {
        void (async () => {
          await proxy.stop();
          await delay(1500);
          await proxy.start();
        })();
      });
      await egress.deliver(id, 'dest.test');

      expect(await egress.finalState(id)).toBe('delivered');
      await expectDeliveredOnce(egress, id, 'refused@dest.test');
      expect(received('db refused')).toHaveLength(1);
      expect(await jobFailures(egress, id)).toEqual([]);
    });

    it('does not apply a result twice when the reply to its write was lost, and still publishes it', async () => {
      const id = await egress.signedMessage(['lost@dest.test'], { subject: 'reply lost' });
      onArrival('reply lost', () => proxy.dropReplies());
      await egress.deliver(id, 'dest.test');
      // The write reached the database; egress never learns it (the proxy throws the reply away).
      await waitFor(
        async () => (await egress.messages.findRecipient(id, 'lost@dest.test'))?.state === 'delivered',
        {
          description: 'the result applied',
        },
      );
      await delay(300);
      await proxy.stop();
      await delay(1000);
      await proxy.start();

      expect(await egress.finalState(id)).toBe('delivered');
      await expectDeliveredOnce(egress, id, 'lost@dest.test');
      expect(received('reply lost')).toHaveLength(1);
      expect(await jobFailures(egress, id)).toEqual([]);
    });

    it('does not count a deferred attempt twice when the reply to its write was lost', async () => {
      const id = await egress.signedMessage(['later@dest.test'], { subject: 'deferred reply lost' });
      // A deferred recipient stays open, so a repeated write would match it again.
      onArrival('deferred reply lost', () => proxy.dropReplies(), { code: 451, message: '4.3.0 try later' });
      await egress.deliver(id, 'dest.test');
      await waitFor(
        async () => (await egress.messages.findRecipient(id, 'later@dest.test'))?.state === 'deferred',
        { description: 'the deferred result applied' },
      );
      await delay(300);
      await proxy.stop();
      await delay(1000);
      await proxy.start();

      expect(await egress.finalState(id)).toBe('delivered');
      expect(await egress.messages.findRecipient(id, 'later@dest.test')).toMatchObject({
        state: 'delivered',
        attempts: 2,
      });
      expect((await egress.messages.findRecipient(id, 'later@dest.test'))?.ambiguousAttempts ?? 0).toBe(0);
      expect((await egress.messages.findById(id))?.possibleDuplicates ?? 0).toBe(0);
      const deferred = await egress.events(id, 'delivery.deferred');
      expect(deferred.map((e) => e.data['attempt'])).toEqual([1]);
      // Published by the job that recorded it (its earlier write was recognised as applied), not
      // left for the next attempt.
      const published = await egress.bus.queue('events').getJob(deferred[0]?.id ?? '');
      expect(published?.timestamp).toBeLessThan(Date.parse(String(deferred[0]?.data['nextAttemptAt'])));
      const succeeded = await egress.events(id, 'delivery.succeeded');
      expect(succeeded.map((e) => e.data['attempt'])).toEqual([2]);
      expect(received('deferred reply lost')).toHaveLength(1);
      expect(await jobFailures(egress, id)).toEqual([]);
    });

    it('carries out an outbox that a late write left on another recipient of the domain before finishing', async () => {
      // `early` was recorded long ago; its result's write lands again (a buffered write applied
      // late) while this job delivers to `open`, after the job read the ledger.
      const id = await egress.signedMessage(['early@dest.test', 'open@dest.test'], {
        subject: 'late outbox',
      });
      await egress.messages.recordRecipient(id, 'early@dest.test', { state: 'delivered', reply: '250 ok' });
      const eventId = `${id}.delivery.succeeded.early@dest.test.1`;
      let landed: Promise<unknown> | undefined;
      onArrival('late outbox', () => {
        landed = egress.messages.recipients.updateOne(
          { _id: `${id}/early@dest.test` },
          {
            $set: {
              outbox: {
                event: {
                  id: eventId,
                  type: 'delivery.succeeded',
                  at: new Date().toISOString(),
                  data: { attempt: 1 },
                },
              },
              outboxAt: new Date(),
            },
          },
        );
      });
      // The reply to the final dot waits until the late write has surely landed.
      sink.setDelays({ dataMs: 500 });
      try {
        await egress.deliver(id, 'dest.test');
        expect(await egress.finalState(id)).toBe('delivered');
      } finally {
        sink.setDelays({});
      }
      await landed;

      expect((await egress.events(id, 'delivery.succeeded')).map((e) => e.id).sort()).toEqual(
        [eventId, `${id}.delivery.succeeded.open@dest.test.1`].sort(),
      );
      expect((await egress.messages.findRecipient(id, 'early@dest.test'))?.outbox).toBeUndefined();
    });
  });

  describe('with a database down for longer than SER_EGRESS_RECORD_TIMEOUT_MS', () => {
    let proxy: TcpProxy;
    let egress: EgressFixture;

    beforeAll(async () => {
      ({ proxy, egress } = await startProxiedEgress(dns, sink, { SER_EGRESS_RECORD_TIMEOUT_MS: '1500' }));
    });

    afterAll(async () => {
      await proxy?.start();
      await egress?.stop();
      await proxy?.close();
    });

    it('gives the job up, and its retry counts the attempt as a possible duplicate and sends again', async () => {
      const id = await egress.signedMessage(['window@dest.test'], { subject: 'db down long' });
      onArrival('db down long', () => void proxy.stop());
      await egress.deliver(id, 'dest.test');
      await waitFor(async () => (await jobFailures(egress, id)).length > 0, {
        timeoutMs: 20_000,
        description: 'the job gave up recording',
      });
      await proxy.start();

      expect(await egress.finalState(id, 30_000)).toBe('delivered');
      // The window that remains: the retry cannot know the first attempt's outcome.
      expect(await egress.messages.findRecipient(id, 'window@dest.test')).toMatchObject({
        state: 'delivered',
        attempts: 2,
        ambiguousAttempts: 1,
      });
      expect((await egress.messages.findById(id))?.possibleDuplicates).toBe(1);
      const [deferred] = await egress.events(id, 'delivery.deferred');
      expect(deferred?.data).toMatchObject({ attempt: 1, ambiguous: true });
      await waitFor(() => received('db down long').length === 2, { description: 'two copies at the sink' });
    });
  });
});

/** Egress whose database connection goes through a TCP proxy the test controls. */
async function startProxiedEgress(
  dns: TestDnsServer,
  sink: SmtpSink,
  overrides: Record<string, string>,
): Promise<{ proxy: TcpProxy; egress: EgressFixture }> {
  const direct = new URL(loadConfig().MONGO_URL);
  const proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port) });
  const proxied = new URL(direct.toString());
  proxied.port = String(proxy.port);
  const egress = await startEgressFixture({
    MONGO_URL: proxied.toString(),
    SER_DNS_SERVERS: dns.address,
    SER_EGRESS_PORT: String(sink.port),
    // Long enough for a deferred recipient's event to be published before its next attempt.
    SER_EGRESS_RETRY_SCHEDULE: '4s',
    SER_EGRESS_RETRY_JITTER: '0',
    SER_EGRESS_MAX_AGE: '10m',
    SER_EGRESS_MTA_STS_ENABLED: 'false',
    ...overrides,
  });
  return { proxy, egress };
}

/** The recipient got the message once, as egress recorded it, and its outcome event is out. */
async function expectDeliveredOnce(egress: EgressFixture, id: string, address: string): Promise<void> {
  const recipient = await egress.messages.findRecipient(id, address);
  expect(recipient).toMatchObject({ state: 'delivered', attempts: 1 });
  expect(recipient?.ambiguousAttempts ?? 0).toBe(0);
  expect(recipient?.outbox).toBeUndefined();
  expect((await egress.messages.findById(id))?.possibleDuplicates ?? 0).toBe(0);
  const succeeded = await egress.events(id, 'delivery.succeeded');
  expect(succeeded.map((e) => e.id)).toEqual([`${id}.delivery.succeeded.${address}.1`]);
}

/** Failures of the message's delivery job other than its own retry schedule (RetryLaterError). */
async function jobFailures(egress: EgressFixture, id: string): Promise<string[]> {
  const job = await egress.bus.queue('deliver').getJob(jobIds.deliver(id, 'dest.test'));
  return (job?.stacktrace ?? []).filter((trace) => !trace.startsWith('RetryLaterError'));
}
