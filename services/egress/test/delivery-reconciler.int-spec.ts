import { jobIds } from '@ser/contracts';
import { freePort, startDnsServer, startSmtpSink, waitFor } from '@ser/testing';
import type { SmtpSink, TestDnsServer } from '@ser/testing';
import { DeliveryReconciler } from '../src/delivery/delivery-reconciler';
import { startEgressFixture } from './egress-fixture';
import type { EgressFixture } from './egress-fixture';

/** Invariant 2: delivery jobs that Redis lost (or BullMQ gave up) come back from the database. */
describe('delivery reconciler', () => {
  let dns: TestDnsServer;
  let sink: SmtpSink;
  let egress: EgressFixture;
  let reconciler: DeliveryReconciler;

  beforeAll(async () => {
    dns = await startDnsServer();
    sink = await startSmtpSink({ port: await freePort() });
    dns.set('dest.test', 'MX', [{ preference: 10, exchange: 'mx.dest.test' }]);
    dns.set('mx.dest.test', 'A', ['127.0.0.1']);
    dns.set('other.test', 'MX', [{ preference: 10, exchange: 'mx.dest.test' }]);
    egress = await startEgressFixture({
      SER_DNS_SERVERS: dns.address,
      SER_EGRESS_PORT: String(sink.port),
      // Only runs started by the test: no timer run during it.
      SER_EGRESS_RECONCILE_INTERVAL_MS: '600000',
      SER_EGRESS_RECONCILE_GRACE_MS: '60000',
    });
    reconciler = egress.get(DeliveryReconciler);
  });

  afterAll(async () => {
    await egress?.stop();
    await Promise.all([sink?.close(), dns?.close()]);
  });

  /** Backdates a message, as if it had waited since long before the grace period. */
  const backdate = (id: string) =>
    egress.messages.messages.updateOne(
      { _id: id },
      { $set: { updatedAt: new Date(Date.now() - 3_600_000) } },
    );

  const deliverQueue = () => egress.bus.queue('deliver');

  it('queues the job again for a message whose job Redis lost, and it is delivered', async () => {
    const id = await egress.signedMessage(['a@dest.test', 'b@other.test'], { subject: 'lost job' });
    await backdate(id);

    const result = await reconciler.reconcile();

    expect(result.requeued).toBe(2);
    expect(await egress.finalState(id)).toBe('delivered');
    expect(sink.messages.filter((m) => m.raw.includes('Subject: lost job'))).toHaveLength(2);
  });

  it('replaces a finished job that left recipients open, and leaves recent or live ones alone', async () => {
    const recent = await egress.signedMessage(['a@dest.test'], { subject: 'recent' });
    const waiting = await egress.signedMessage(['a@dest.test'], { subject: 'waiting' });
    await backdate(waiting);
    await egress.bus.enqueue(
      'deliver',
      { v: 1, messageId: waiting, domain: 'dest.test' },
      jobIds.deliver(waiting, 'dest.test'),
      {
        delay: 60_000,
      },
    );
    // A job that ran before its message was in place completes without delivering anything.
    const stale = await egress.signedMessage(['a@dest.test'], { subject: 'stale job' });
    await egress.messages.messages.updateOne({ _id: stale }, { $set: { state: 'scanned' } });
    await egress.deliver(stale, 'dest.test');
    await waitFor(
      async () =>
        (await deliverQueue().getJobState(jobIds.deliver(stale, 'dest.test'))) === 'completed'
          ? true
          : undefined,
      { description: 'the early job completed' },
    );
    await egress.messages.messages.updateOne({ _id: stale }, { $set: { state: 'signed' } });
    await backdate(stale);

    const result = await reconciler.reconcile();

    expect(result.requeued).toBe(1);
    expect(await egress.finalState(stale)).toBe('delivered');
    expect(await deliverQueue().getJobState(jobIds.deliver(waiting, 'dest.test'))).toBe('delayed');
    expect(await deliverQueue().getJobState(jobIds.deliver(recent, 'dest.test'))).toBe('unknown');
    expect((await egress.messages.findById(recent))?.state).toBe('signed');
  });

  it('finishes a message whose recipients are all final but whose state was never moved', async () => {
    const id = await egress.signedMessage(['x@dest.test'], { subject: 'unfinished' });
    await egress.messages.recordRecipient(id, 'x@dest.test', { state: 'bounced', reply: '550 5.1.1 gone' });
    await egress.messages.transition(id, ['signed'], 'delivering');
    await backdate(id);

    const result = await reconciler.reconcile();

    expect(result.finished).toBe(1);
    expect((await egress.messages.findById(id))?.state).toBe('bounced');
  });

  it('carries out an outbox a job left behind, whatever the message state, once, and leaves recent ones alone', async () => {
    // As a result write that landed after its job had given up on it leaves the recipient: final,
    // with its outbox, on a message that is already finished.
    const at = new Date().toISOString();
    const outboxOf = (id: string, address: string) => ({
      event: {
        id: `${id}.delivery.succeeded.${address}.1`,
        type: 'delivery.succeeded',
        at,
        data: { reply: '250 ok', attempt: 1 },
      },
    });
    const left = await egress.signedMessage(['left@dest.test'], { subject: 'left outbox' });
    const recent = await egress.signedMessage(['recent@dest.test'], { subject: 'recent outbox' });
    for (const [id, address] of [
      [left, 'left@dest.test'],
      [recent, 'recent@dest.test'],
    ] as const) {
      await egress.messages.recordRecipient(id, address, {
        state: 'delivered',
        reply: '250 ok',
        outbox: outboxOf(id, address),
      });
      await egress.messages.messages.updateOne({ _id: id }, { $set: { state: 'delivered' } });
    }
    const hourAgo = new Date(Date.now() - 3_600_000);
    await egress.messages.recipients.updateOne(
      { _id: `${left}/left@dest.test` },
      { $set: { updatedAt: hourAgo, outboxAt: hourAgo } },
    );

    const first = await reconciler.reconcile();
    const second = await reconciler.reconcile();

    expect(first.flushed).toBe(1);
    expect(second.flushed).toBe(0);
    expect((await egress.events(left, 'delivery.succeeded')).map((e) => e.id)).toEqual([
      `${left}.delivery.succeeded.left@dest.test.1`,
    ]);
    const done = await egress.messages.findRecipient(left, 'left@dest.test');
    expect(done?.outbox).toBeUndefined();
    expect(done?.outboxAt).toBeUndefined();
    expect((await egress.messages.findById(left))?.state).toBe('delivered');
    expect(await egress.events(recent, 'delivery.succeeded')).toEqual([]);
    // The query behind it has an index (sparse: only recipients with an outbox have the field).
    expect((await egress.messages.recipients.indexes()).map((i) => i.key)).toContainEqual({ outboxAt: 1 });
    expect((await egress.messages.findRecipient(recent, 'recent@dest.test'))?.outbox).toEqual(
      outboxOf(recent, 'recent@dest.test'),
    );
  });

  it('runs on one replica per interval (a Redis turn lock)', async () => {
    const first = await reconciler.reconcileIfOurTurn();
    const second = await reconciler.reconcileIfOurTurn();
    expect(first).toBeDefined();
    expect(second).toBeUndefined();
  });
});
