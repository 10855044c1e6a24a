import { QUEUES } from '@ser/contracts';
import { newId, TenantConfigRepository } from '@ser/data';
import { createLogger } from '@ser/logger';
import { MESSAGE_BUCKET } from '@ser/mongo';
import type { MongoConnection } from '@ser/mongo';
import { startServices } from '@ser/runtime';
import { generateSecret, generateUsername, hashSecret } from '@ser/security';
import { ingressService, ReceivingSweeperService } from '@ser/service-ingress';
import { connectTestDatabase, relayTestConfig, waitFor } from '@ser/testing';
import type { RelayTestConfig } from '@ser/testing';
import { Queue } from 'bullmq';
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { connect } from 'node:tls';
import type { TLSSocket } from 'node:tls';

const ENTRY = join(__dirname, '..', 'dist', 'services', 'relay', 'src', 'main.js');

/** A bare implicit-TLS SMTP client: every reply line it got, and a way to wait for one. */
class LineClient {
  readonly lines: string[] = [];
  readonly closed: Promise<void>;
  private buffer = '';

  private constructor(readonly socket: TLSSocket) {
    socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('latin1');
      const parts = this.buffer.split('\r\n');
      this.buffer = parts.pop() ?? '';
      this.lines.push(...parts);
    });
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static async connect(port: number, ca: string): Promise<LineClient> {
    const socket = await new Promise<TLSSocket>((resolve, reject) => {
      const s = connect({ host: '127.0.0.1', port, ca }, () => resolve(s));
      s.once('error', reject);
    });
    return new LineClient(socket);
  }

  /** Sends a line and waits for the final line of its reply, which must have `code`. */
  async command(line: string | undefined, code: number): Promise<void> {
    const seen = this.lines.length;
    if (line !== undefined) {
      this.socket.write(`${line}\r\n`);
    }
    const reply = await waitFor(() => this.lines.slice(seen).find((l) => /^\d{3} /.test(l)), {
      timeoutMs: 10_000,
      description: `reply to ${line ?? 'greeting'}`,
    });
    if (!reply.startsWith(String(code))) {
      throw new Error(`expected ${code}, got ${reply}`);
    }
  }
}

/** Invariant 1 against a crash: a killed ingress never leaves a promise it did not keep. */
describe('ingress killed with SIGKILL during DATA', () => {
  let setup: RelayTestConfig;
  let mongo: MongoConnection;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    if (!existsSync(ENTRY)) {
      throw new Error(`${ENTRY} is missing: run "npm run build" before the e2e tests`);
    }
    setup = await relayTestConfig({ SER_SERVICES: 'ingress' });
    mongo = await connectTestDatabase('ingress-kill', setup.config.mongoDb);
  });

  afterAll(async () => {
    child?.kill('SIGKILL');
    await mongo.db.dropDatabase();
    await mongo.close();
    rmSync(setup.dir, { recursive: true, force: true });
  });

  async function seedCredential(): Promise<{ username: string; password: string }> {
    const repo = new TenantConfigRepository(mongo.db);
    const tenantId = newId('ten');
    const appId = newId('app');
    const createdAt = new Date();
    const username = generateUsername();
    const password = generateSecret();
    await repo.tenants.insertOne({ _id: tenantId, name: 'Kill test', status: 'active', createdAt });
    await repo.domains.insertOne({ _id: newId('dom'), tenantId, name: 'kill.test', createdAt });
    await repo.applications.insertOne({
      _id: appId,
      tenantId,
      name: 'Kill app',
      status: 'active',
      allowedFromDomains: [],
      createdAt,
    });
    await repo.credentials.insertOne({
      _id: newId('cred'),
      tenantId,
      appId,
      username,
      secretHash: await hashSecret(password),
      status: 'active',
      createdAt,
    });
    return { username, password };
  }

  it('gives the client no 250, queues no job, and the sweeper removes the partial body', async () => {
    const { config } = setup;
    const credential = await seedCredential();
    child = spawn(process.execPath, [ENTRY], {
      env: {
        ...process.env,
        SER_SERVICES: 'ingress',
        SER_MONGO_DB: config.mongoDb,
        SER_QUEUE_PREFIX: config.SER_QUEUE_PREFIX,
        SER_HOSTNAME: config.SER_HOSTNAME,
        SER_INGRESS_HOST: '127.0.0.1',
        SER_INGRESS_SUBMISSION_PORT: String(config.SER_INGRESS_SUBMISSION_PORT),
        SER_INGRESS_SUBMISSIONS_PORT: String(config.SER_INGRESS_SUBMISSIONS_PORT),
        SER_TLS_CERT_FILE: config.SER_TLS_CERT_FILE,
        SER_TLS_KEY_FILE: config.SER_TLS_KEY_FILE,
        SER_LOG_LEVEL: 'warn',
      },
      stdio: 'ignore',
    });
    const client = await waitFor(
      () => LineClient.connect(config.SER_INGRESS_SUBMISSIONS_PORT, setup.tls.cert).catch(() => undefined),
      { timeoutMs: 30_000, intervalMs: 200, description: 'the ingress process listening' },
    );
    await client.command(undefined, 220);
    await client.command('EHLO client.test', 250);
    const token = Buffer.from(`\0${credential.username}\0${credential.password}`).toString('base64');
    await client.command(`AUTH PLAIN ${token}`, 235);
    await client.command('MAIL FROM:<app@kill.test>', 250);
    await client.command('RCPT TO:<someone@dest.test>', 250);
    await client.command('DATA', 354);
    const repliesBeforeBody = client.lines.length;
    client.socket.write(`From: app@kill.test\r\nSubject: cut off\r\n\r\n${'y'.repeat(998)}\r\n`.repeat(2000));
    const chunks = mongo.db.collection(`${MESSAGE_BUCKET}.chunks`);
    await waitFor(async () => (await chunks.countDocuments({})) > 0, {
      timeoutMs: 15_000,
      description: 'part of the body in the store',
    });

    child.kill('SIGKILL');
    await client.closed;

    expect(client.lines.slice(repliesBeforeBody)).toEqual([]);
    const scanQueue = new Queue(QUEUES.scan, {
      connection: { url: config.REDIS_URL },
      prefix: config.SER_QUEUE_PREFIX,
    });
    try {
      expect(await scanQueue.getJobs()).toEqual([]);
    } finally {
      await scanQueue.obliterate({ force: true }).catch(() => undefined);
      await scanQueue.close();
    }
    expect(await mongo.db.collection('messages').countDocuments({ state: { $ne: 'receiving' } })).toBe(0);

    // A surviving replica's sweeper, once the grace period is over, removes what the crash left.
    const logger = createLogger({ level: 'silent', pretty: false });
    const survivor = await startServices(
      [ingressService],
      { ...config, SER_INGRESS_SUBMISSION_PORT: 0, SER_INGRESS_SUBMISSIONS_PORT: 0 },
      logger,
    );
    try {
      const sweeper = survivor.contexts.get('ingress')?.get(ReceivingSweeperService);
      await sweeper?.sweep(Date.now() + config.SER_INGRESS_SWEEP_GRACE_MS + 60_000);
    } finally {
      await survivor.stop();
    }
    expect(await chunks.countDocuments({})).toBe(0);
    expect(await mongo.db.collection(`${MESSAGE_BUCKET}.files`).countDocuments({})).toBe(0);
    expect(await mongo.db.collection('messages').countDocuments({})).toBe(0);
  }, 90_000);
});
