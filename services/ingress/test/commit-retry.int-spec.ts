import { jobIds } from '@ser/contracts';
import { acceptanceVerdictKey } from '@ser/queue';
import type { TcpProxy } from '@ser/testing';
import { Redis } from 'ioredis';
import { setTimeout as sleep } from 'node:timers/promises';
import { acceptedInDatabase, commitTimeout, onScanQueued, proxied, queuedId, submit } from './commit-faults';
import { SubmissionFixture } from './submission-fixture';
import type { SeededCredential } from './tenant-seed';

/**
 * Invariant 1 at the last step of a submission, the record's move to `accepted` once the scan job
 * is queued: the database failing there must not turn into a `451` for a message that is then
 * delivered (docs/faults.md, finding 2).
 */
describe('ingress commit under database faults', () => {
  let fx: SubmissionFixture;
  let credential: SeededCredential;
  let redis: Redis;
  const proxies: TcpProxy[] = [];

  beforeAll(async () => {
    fx = await SubmissionFixture.start({});
    const tenantId = (await fx.seed.tenant(['commit.test'])).tenantId;
    credential = await fx.seed.credential(tenantId, await fx.seed.application(tenantId));
    redis = new Redis(fx.config.REDIS_URL);
  });

  afterAll(async () => {
    await Promise.all(proxies.map((p) => p.close()));
    await fx?.close();
    await redis?.quit();
  });

  async function proxy(url: string): Promise<{ proxy: TcpProxy; url: string }> {
    const p = await proxied(url);
    proxies.push(p.proxy);
    return p;
  }

  async function acceptedOnce(messageId: string): Promise<void> {
    expect(await fx.trace(messageId)).toMatchObject({ message: { state: 'accepted' }, bodyStored: true });
    expect((await fx.trace(messageId)).recipients).toHaveLength(1);
    expect((await fx.queues.jobs('scan')).filter((j) => j.id === jobIds.scan(messageId))).toHaveLength(1);
    expect((await fx.events('message.accepted')).filter((e) => e.messageId === messageId)).toHaveLength(1);
    expect(await fx.refusedMessageIds()).not.toContain(messageId);
  }

  it('retries the commit while the database is unreachable and answers 250 once it is back', async () => {
    const database = await proxy(fx.config.MONGO_URL);
    const ingress = await fx.startAnother({ MONGO_URL: database.url, ...commitTimeout(20_000) });
    onScanQueued(ingress, async () => {
      await database.proxy.stop();
      // Longer than the driver's server selection (5 s), so the first try fails whatever the
      // driver knew of the connection; well within the commit deadline.
      setTimeout(() => void database.proxy.start(), 6500);
    });

    const { reply } = await submit(fx, credential, ingress.starttlsPort, 'a@commit.test');
    await acceptedOnce(queuedId(reply));
  }, 40_000);

  it('answers 250 when the commit was applied but its reply was lost (the retry finds the record accepted)', async () => {
    const database = await proxy(fx.config.MONGO_URL);
    const ingress = await fx.startAnother({ MONGO_URL: database.url, ...commitTimeout(20_000) });
    let lostReply: Promise<void> | undefined;
    onScanQueued(ingress, (messageId) => {
      database.proxy.dropReplies();
      lostReply = (async () => {
        await acceptedInDatabase(fx, messageId);
        await database.proxy.stop(); // the connection that lost the reply fails
        await database.proxy.start();
      })();
      return Promise.resolve();
    });

    const { reply } = await submit(fx, credential, ingress.starttlsPort, 'b@commit.test');
    await lostReply;
    await acceptedOnce(queuedId(reply));
  }, 40_000);

  it('answers 451 when neither the commit nor the refusal can be confirmed, and its clean-up leaves an accepted record whole', async () => {
    const database = await proxy(fx.config.MONGO_URL);
    const queue = await proxy(fx.config.REDIS_URL);
    const timeoutMs = 1500;
    const ingress = await fx.startAnother({
      MONGO_URL: database.url,
      REDIS_URL: queue.url,
      ...commitTimeout(timeoutMs),
    });
    let outage: Promise<void> | undefined;
    let refusedId = '';
    onScanQueued(ingress, async (messageId) => {
      refusedId = messageId;
      await queue.proxy.stop(); // the refusal cannot be claimed
      database.proxy.dropReplies(); // the commit lands, unseen
      const committing = Date.now();
      outage = (async () => {
        await acceptedInDatabase(fx, messageId);
        await database.proxy.stop();
        // Back after the commit deadline, while the clean-up waits for a server (up to 5 s).
        await sleep(committing + timeoutMs + 1500 - Date.now());
        await database.proxy.start();
      })();
    });

    const { reply } = await submit(fx, credential, ingress.starttlsPort, 'c@commit.test');
    await outage;
    expect({ code: reply.code, enhanced: reply.enhanced }).toEqual({ code: 451, enhanced: '4.3.0' });
    // Nothing stops the scanner (no refusal recorded), so the message must stay whole: the scanner
    // delivers it, and the client's retry is a duplicate (documented), never a message without a body.
    expect(await fx.trace(refusedId)).toMatchObject({ message: { state: 'accepted' }, bodyStored: true });
    expect((await fx.trace(refusedId)).recipients).toHaveLength(1);
    expect(await fx.queues.queue('scan').getJob(jobIds.scan(refusedId))).toBeDefined();
    expect(await redis.get(acceptanceVerdictKey(fx.config.SER_QUEUE_PREFIX, refusedId))).toBeNull();
    await queue.proxy.start();
  }, 40_000);
});
