import { jobIds, newMessageId } from '@ser/contracts';
import { MessageRepository } from '@ser/data';
import { createLogger } from '@ser/logger';
import { GridFsMessageStore } from '@ser/mongo';
import type { MongoConnection } from '@ser/mongo';
import { QueueBus } from '@ser/queue';
import { startServices } from '@ser/runtime';
import type { RunningServices } from '@ser/runtime';
import { connectTestDatabase, freePort, relayTestConfig, waitFor } from '@ser/testing';
import type { RelayTestConfig } from '@ser/testing';
import { Readable } from 'node:stream';
import { scannerService } from '../src/index';

const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$' + 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

/** The scanner alone against real clamd; a second one against a clamd port where nothing listens. */
describe('scanner', () => {
  const started: { running: RunningServices; mongo: MongoConnection; bus: QueueBus }[] = [];

  afterAll(async () => {
    for (const s of started) {
      await s.running.stop();
      await s.bus.close();
      await s.mongo.close();
    }
  });

  async function scanner(overrides: Record<string, string> = {}) {
    const test: RelayTestConfig = await relayTestConfig(overrides);
    const { config } = test;
    const running = await startServices(
      [scannerService],
      config,
      createLogger({ level: 'silent', pretty: false }),
    );
    const mongo = await connectTestDatabase('scanner-int-spec', config.mongoDb);
    const bus = new QueueBus(config.REDIS_URL, config.SER_QUEUE_PREFIX);
    started.push({ running, mongo, bus });
    const messages = new MessageRepository(mongo.db);
    const submit = async (body: string, attempts = 3): Promise<string> => {
      const id = newMessageId();
      await new GridFsMessageStore(mongo.db).put(id, Readable.from([Buffer.from(body)]), {});
      const now = new Date();
      await messages.create({
        _id: id,
        tenantId: 'ten_test',
        appId: 'app_test',
        credentialId: 'cred_test',
        envelope: { mailFrom: 'a@acme.test', rcptTo: ['b@dest.test'] },
        headerFrom: 'a@acme.test',
        fromDomain: 'acme.test',
        size: body.length,
        state: 'accepted',
        client: { ip: '127.0.0.1', tls: true },
        createdAt: now,
        updatedAt: now,
        expiresAt: now,
      });
      await bus.enqueue('scan', { v: 1, messageId: id }, jobIds.scan(id), {
        attempts,
        backoff: { type: 'fixed', delay: 50 },
      });
      return id;
    };
    const settled = (id: string) =>
      waitFor(
        async () => {
          const m = await messages.findById(id);
          return m !== null && m.state !== 'accepted' ? m : undefined;
        },
        { timeoutMs: 20000, intervalMs: 100, description: `scan of ${id}` },
      );
    return { submit, settled, bus };
  }

  it('passes a clean message on to signing and rejects an infected one with the signature name', async () => {
    const { submit, settled, bus } = await scanner();
    const clean = await submit('Subject: hello\r\n\r\nJust text.\r\n');
    const infected = await submit(`Subject: invoice\r\nContent-Type: text/plain\r\n\r\n${EICAR}\r\n`);

    expect(await settled(clean)).toMatchObject({
      state: 'scanned',
      av: { engine: 'clamav', result: 'clean' },
    });
    // The state moves before the sign job is added (a crash between the two is repaired by the retry).
    await waitFor(() => bus.queue('sign').getJob(jobIds.sign(clean)), {
      timeoutMs: 10000,
      description: 'sign job',
    });
    const rejected = await settled(infected);
    expect(rejected.state).toBe('rejected_av');
    expect(rejected.av?.signature).toMatch(/^Eicar-Test-Signature/);
    expect(await bus.queue('sign').getJob(jobIds.sign(infected))).toBeUndefined();
  });

  it('holds the message when clamd cannot be reached, and never passes it on unscanned', async () => {
    const { submit, settled, bus } = await scanner({
      SER_CLAMD_PORT: String(await freePort()),
      SER_CLAMD_TIMEOUT_MS: '2000',
    });
    const id = await submit('Subject: hello\r\n\r\nJust text.\r\n', 2);

    const held = await settled(id);
    expect(held).toMatchObject({ state: 'held', reason: 'av_unavailable' });
    expect(held.av).toBeUndefined();
    expect(await bus.queue('sign').getJob(jobIds.sign(id))).toBeUndefined();
    const events = await bus.queue('events').getJobs(['waiting', 'delayed', 'completed']);
    expect(events.map((j) => (j.data as { type: string }).type)).toContain('message.held');
  });
});
