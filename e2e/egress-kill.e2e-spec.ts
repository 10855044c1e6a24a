import { jobIds, newMessageId } from '@ser/contracts';
import { MessageRepository } from '@ser/data';
import { GridFsMessageStore } from '@ser/mongo';
import type { MongoConnection } from '@ser/mongo';
import { QueueBus } from '@ser/queue';
import {
  connectTestDatabase,
  freePort,
  relayTestConfig,
  startDnsServer,
  startSmtpSink,
  waitFor,
} from '@ser/testing';
import type { RelayTestConfig, SmtpSink, TestDnsServer } from '@ser/testing';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';

const ENTRY = join(__dirname, '..', 'dist', 'services', 'relay', 'src', 'main.js');

/** Invariant 3 against a crash: an egress worker killed mid-delivery loses nothing and sends once. */
describe('egress killed with SIGKILL during a delivery', () => {
  let setup: RelayTestConfig;
  let mongo: MongoConnection;
  let bus: QueueBus;
  let dns: TestDnsServer;
  let sink: SmtpSink;
  const children: ChildProcess[] = [];

  beforeAll(async () => {
    if (!existsSync(ENTRY)) {
      throw new Error(`${ENTRY} is missing: run "npm run build" before the e2e tests`);
    }
    dns = await startDnsServer();
    sink = await startSmtpSink({ port: await freePort() });
    dns.set('dest.test', 'MX', [{ preference: 10, exchange: 'mx.dest.test' }]);
    dns.set('mx.dest.test', 'A', ['127.0.0.1']);
    setup = await relayTestConfig({ SER_SERVICES: 'egress' });
    mongo = await connectTestDatabase('egress-kill', setup.config.mongoDb);
    bus = new QueueBus(setup.config.REDIS_URL, setup.config.SER_QUEUE_PREFIX);
  });

  afterAll(async () => {
    await bus.queue('deliver').obliterate({ force: true });
    await bus.queue('events').obliterate({ force: true });
    await bus.close();
    await mongo.db.dropDatabase();
    await mongo.close();
    await Promise.all([sink.close(), dns.close()]);
    rmSync(setup.dir, { recursive: true, force: true });
  });

  // Each test starts its own workers; none may linger into the next and take its job.
  afterEach(async () => {
    for (const child of children.splice(0)) {
      if (child.exitCode === null && child.signalCode === null) {
        await kill(child);
      }
    }
  });

  /** The egress worker alone, as its own process; a 3 s job lock so a lost worker's job moves on quickly. */
  function startEgress(): ChildProcess {
    const { config } = setup;
    const child = spawn(process.execPath, [ENTRY], {
      env: {
        ...process.env,
        SER_SERVICES: 'egress',
        SER_MONGO_DB: config.mongoDb,
        SER_QUEUE_PREFIX: config.SER_QUEUE_PREFIX,
        SER_HOSTNAME: config.SER_HOSTNAME,
        SER_DNS_SERVERS: dns.address,
        SER_EGRESS_PORT: String(sink.port),
        SER_EGRESS_ALLOW_PRIVATE_MX: 'true',
        SER_EGRESS_RETRY_SCHEDULE: '1s',
        SER_QUEUE_LOCK_MS: '3000',
        SER_LOG_LEVEL: 'warn',
      },
      stdio: 'ignore',
    });
    children.push(child);
    return child;
  }

  async function signedMessage(): Promise<string> {
    const id = newMessageId();
    const body = `From: billing@acme.test\r\nTo: a@dest.test\r\nSubject: kill ${id}\r\n\r\nbody\r\n`;
    await new GridFsMessageStore(mongo.db).put(id, Readable.from([Buffer.from(body)]), {});
    const now = new Date();
    await new MessageRepository(mongo.db).create({
      _id: id,
      tenantId: 'ten_kill',
      appId: 'app_kill',
      credentialId: 'cred_kill',
      envelope: { mailFrom: 'bounces@saas.test', rcptTo: ['a@dest.test', 'b@dest.test'] },
      headerFrom: 'billing@acme.test',
      fromDomain: 'acme.test',
      size: body.length,
      state: 'signed',
      unsigned: { reason: 'dkim_key_missing', domain: 'acme.test' },
      client: { ip: '127.0.0.1', tls: true },
      createdAt: now,
      updatedAt: now,
      expiresAt: new Date(now.getTime() + 86_400_000),
    });
    return id;
  }

  /** Kills the process and waits until it is gone. */
  async function kill(child: ChildProcess): Promise<void> {
    child.kill('SIGKILL');
    await waitFor(() => (child.exitCode !== null || child.signalCode !== null ? true : undefined), {
      timeoutMs: 5000,
      description: 'the killed process gone',
    });
  }

  /** Waits for the message's final state, then for its job to complete (nothing more will be sent). */
  async function settled(id: string): Promise<string> {
    const messages = new MessageRepository(mongo.db);
    const state = await waitFor(
      async () => {
        const m = await messages.findById(id);
        return m !== null && m.state !== 'delivering' && m.state !== 'signed' ? m.state : undefined;
      },
      { timeoutMs: 45_000, intervalMs: 200, description: 'delivery by the restarted worker' },
    );
    await waitFor(
      async () =>
        (await bus.queue('deliver').getJobState(jobIds.deliver(id, 'dest.test'))) === 'completed'
          ? true
          : undefined,
      { timeoutMs: 10_000, description: 'the delivery job completed' },
    );
    return state;
  }

  it('killed before the final dot: the next worker delivers the message once, and records the cut-off attempt', async () => {
    const messages = new MessageRepository(mongo.db);
    const id = await signedMessage();
    sink.clear();
    // The sink holds its RCPT replies: the worker is killed in the middle of the transaction.
    sink.setDelays({ rcptMs: 5000 });
    await bus.enqueue(
      'deliver',
      { v: 1, messageId: id, domain: 'dest.test' },
      jobIds.deliver(id, 'dest.test'),
    );
    const first = startEgress();
    await waitFor(() => (sink.connections.total > 0 ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 50,
      description: 'the egress process connected to the MX',
    });
    await kill(first);
    sink.setDelays({});
    expect(sink.messages).toEqual([]);
    expect((await messages.findById(id))?.state).toBe('delivering');
    expect((await messages.recipientsFor(id)).map((r) => [r.state, r.inFlightAttempt])).toEqual([
      ['pending', 1],
      ['pending', 1],
    ]);

    startEgress();
    expect(await settled(id)).toBe('delivered');
    expect(sink.messages).toHaveLength(1);
    expect(sink.messages[0]?.envelope.rcptTo).toEqual(['a@dest.test', 'b@dest.test']);
    // The cut-off attempt counts, with an unknown outcome (conservatively: it never reached DATA).
    expect((await messages.recipientsFor(id)).map((r) => [r.state, r.attempts, r.ambiguousAttempts])).toEqual(
      [
        ['delivered', 2, 1],
        ['delivered', 2, 1],
      ],
    );
    expect((await messages.findById(id))?.possibleDuplicates).toBe(1);
  }, 120_000);

  it('killed after the final dot, before the reply: sent again, and the possible duplicate is recorded', async () => {
    const messages = new MessageRepository(mongo.db);
    const id = await signedMessage();
    sink.clear();
    const endsBefore = sink.dataEnds;
    // The sink has the whole message but holds its reply: the worker dies not knowing the outcome.
    sink.setDelays({ dataMs: 3000 });
    await bus.enqueue(
      'deliver',
      { v: 1, messageId: id, domain: 'dest.test' },
      jobIds.deliver(id, 'dest.test'),
    );
    const first = startEgress();
    await waitFor(() => (sink.dataEnds > endsBefore ? true : undefined), {
      timeoutMs: 30_000,
      intervalMs: 20,
      description: 'the whole message at the MX',
    });
    await kill(first);
    sink.setDelays({});

    startEgress();
    expect(await settled(id)).toBe('delivered');
    // The receiver kept the first copy too: exactly the duplicate SMTP cannot rule out (RFC 1047).
    await sink.waitForMessages(2);
    expect(sink.messages.map((m) => m.raw.toString().includes(`kill ${id}`))).toEqual([true, true]);
    expect((await messages.findById(id))?.possibleDuplicates).toBe(1);
    expect((await messages.recipientsFor(id)).map((r) => r.ambiguousAttempts)).toEqual([1, 1]);
  }, 120_000);
});
