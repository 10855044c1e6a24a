import type { RelayConfig } from '@ser/config';
import { jobIds } from '@ser/contracts';
import type { RelayEvent } from '@ser/contracts';
import { acceptanceVerdictKey } from '@ser/queue';
import { startServices } from '@ser/runtime';
import type { RunningServices } from '@ser/runtime';
// The arbitration is between ingress and the scanner: the test runs both, as the relay does.
// eslint-disable-next-line @nx/enforce-module-boundaries
import { scannerService } from '@ser/service-scanner';
import { uniqueName, waitFor } from '@ser/testing';
import type { TcpProxy } from '@ser/testing';
import { Redis } from 'ioredis';
import { acceptedInDatabase, commitTimeout, onScanQueued, proxied, queuedId, submit } from './commit-faults';
import { QueueInspector } from './ingress-harness';
import type { RunningIngress } from './ingress-harness';
import { SubmissionFixture } from './submission-fixture';
import type { SeededCredential } from './tenant-seed';

/**
 * Past SER_INGRESS_COMMIT_TIMEOUT_MS, a commit that ingress could not confirm may still land: ingress
 * and the scanner settle it in Redis (first claim wins), so the client's reply and the message's fate
 * agree. Each case has its own queue prefix, its own ingress behind a database proxy, and the real
 * scanner on the same database and prefix.
 */
describe('ingress and scanner agree on a commit ingress could not confirm', () => {
  let fx: SubmissionFixture;
  let credential: SeededCredential;
  let redis: Redis;
  const proxies: TcpProxy[] = [];
  const scanners: RunningServices[] = [];
  const inspectors: QueueInspector[] = [];

  beforeAll(async () => {
    fx = await SubmissionFixture.start({});
    const tenantId = (await fx.seed.tenant(['arbiter.test'])).tenantId;
    credential = await fx.seed.credential(tenantId, await fx.seed.application(tenantId));
    redis = new Redis(fx.config.REDIS_URL);
  });

  afterAll(async () => {
    for (const scanner of scanners) {
      await scanner.stop();
    }
    await Promise.all(proxies.map((p) => p.close()));
    await Promise.all(inspectors.map((i) => i.close()));
    await fx?.close();
    await redis?.quit();
  });

  /** A queue prefix of its own, with an ingress on it whose database is behind a proxy. */
  async function setUp(timeoutMs: number): Promise<{
    prefix: string;
    database: TcpProxy;
    ingress: RunningIngress;
    queues: QueueInspector;
  }> {
    const prefix = uniqueName('t');
    const database = await proxied(fx.config.MONGO_URL);
    proxies.push(database.proxy);
    const queues = new QueueInspector(fx.config.REDIS_URL, prefix);
    inspectors.push(queues);
    const ingress = await fx.startAnother({
      MONGO_URL: database.url,
      SER_QUEUE_PREFIX: prefix,
      ...commitTimeout(timeoutMs),
    });
    return { prefix, database: database.proxy, ingress, queues };
  }

  async function startScanner(prefix: string): Promise<void> {
    const scannerConfig: RelayConfig = {
      ...fx.config,
      SER_QUEUE_PREFIX: prefix,
      SER_SPAMSCANNER_ENABLED: false,
      SER_SPAMD_HOST: undefined,
    };
    scanners.push(await startServices([scannerService], scannerConfig, fx.logger));
  }

  /** The commit lands but its reply is lost, then the database stays out of ingress's reach. */
  function commitLandsUnseen(ingress: RunningIngress, database: TcpProxy): { messageId: () => string } {
    let id = '';
    onScanQueued(ingress, async (messageId) => {
      id = messageId;
      database.dropReplies();
      void acceptedInDatabase(fx, messageId).then(() => database.stop());
      return Promise.resolve();
    });
    return { messageId: () => id };
  }

  async function eventsOf(queues: QueueInspector, messageId: string): Promise<RelayEvent['type'][]> {
    const events = (await queues.jobs('events')).map((j) => j.data as RelayEvent);
    return events.filter((e) => e.id.startsWith(`${messageId}.`)).map((e) => e.type);
  }

  it('ingress claims the refusal first: 451, and the scanner drops the message and removes it', async () => {
    const { prefix, database, ingress, queues } = await setUp(1500);
    const commit = commitLandsUnseen(ingress, database);

    const { reply } = await submit(fx, credential, ingress.starttlsPort, 'a@arbiter.test');
    expect({ code: reply.code, enhanced: reply.enhanced }).toEqual({ code: 451, enhanced: '4.3.0' });
    const id = commit.messageId();
    expect(await redis.get(acceptanceVerdictKey(prefix, id))).toBe('refused');
    // The commit did land: without the refusal, the scanner would now pass this message on.
    expect((await fx.messages.findById(id))?.state).toBe('accepted');

    await startScanner(prefix);
    await waitFor(async () => (await queues.queue('scan').getJob(jobIds.scan(id)))?.isCompleted(), {
      timeoutMs: 15_000,
      intervalMs: 100,
      description: 'the scan job done',
    });
    expect(await fx.trace(id)).toEqual({ message: null, recipients: [], bodyStored: false });
    expect(await queues.queue('sign').getJob(jobIds.sign(id))).toBeUndefined();
    expect(await eventsOf(queues, id)).toEqual(['message.refused']);
    await database.start();
  }, 40_000);

  it('the scanner claims the message first: ingress answers 250 past its deadline, and the message goes on once', async () => {
    const { prefix, database, ingress, queues } = await setUp(4000);
    await startScanner(prefix);
    const commit = commitLandsUnseen(ingress, database);

    const { reply } = await submit(fx, credential, ingress.starttlsPort, 'b@arbiter.test');
    const id = queuedId(reply);
    expect(id).toBe(commit.messageId());
    expect(await redis.get(acceptanceVerdictKey(prefix, id))).toBe('taken');
    await waitFor(async () => (await fx.messages.findById(id))?.state === 'scanned', {
      timeoutMs: 15_000,
      intervalMs: 100,
      description: 'the message scanned',
    });
    expect(await queues.queue('sign').getJob(jobIds.sign(id))).toBeDefined();
    expect(await eventsOf(queues, id)).toEqual(
      expect.arrayContaining(['message.accepted', 'message.scanned']),
    );
    expect(await eventsOf(queues, id)).not.toContain('message.refused');
    await database.start();
  }, 40_000);
});
