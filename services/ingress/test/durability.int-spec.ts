import { MESSAGE_BUCKET } from '@ser/mongo';
import { startTcpProxy, waitFor } from '@ser/testing';
import type { TcpProxy } from '@ser/testing';
import { ObjectId } from 'mongodb';
import { Readable } from 'node:stream';
import { ReceivingSweeperService } from '../src/index';
import type { RunningIngress } from './ingress-harness';
import { dataPayload, RawSmtpClient } from './raw-smtp-client';
import type { SmtpReply } from './raw-smtp-client';
import { expectCode, SubmissionFixture } from './submission-fixture';
import type { SeededCredential } from './tenant-seed';

const summary = (reply: SmtpReply) => ({ code: reply.code, enhanced: reply.enhanced, text: reply.text });
const NOT_STORED = {
  code: 451,
  enhanced: '4.3.0',
  text: 'Message not accepted: temporary storage failure, try again later',
};

function message(from: string): string {
  return `From: ${from}\r\nTo: x@dest.test\r\nSubject: Durability\r\n\r\nHello.\r\n`;
}

function sweeperOf(ingress: RunningIngress): ReceivingSweeperService {
  const context = ingress.running.contexts.get('ingress');
  if (context === undefined) {
    throw new Error('no ingress context');
  }
  return context.get(ReceivingSweeperService);
}

function portOf(url: string): number {
  return Number(new URL(url).port);
}

/** Invariant 1 under failure: 250 only when safe, and nothing half-accepted left behind. */
describe('ingress durability', () => {
  let fx: SubmissionFixture;
  let tenantId: string;
  let credential: SeededCredential;
  const proxies: TcpProxy[] = [];

  beforeAll(async () => {
    fx = await SubmissionFixture.start({});
    const tenant = await fx.seed.tenant(['durable.test']);
    tenantId = tenant.tenantId;
    credential = await fx.seed.credential(tenantId, await fx.seed.application(tenantId));
  });

  afterAll(async () => {
    await fx?.close();
    await Promise.all(proxies.map((p) => p.close()));
  });

  async function proxyTo(url: string): Promise<TcpProxy> {
    const proxy = await startTcpProxy({ port: portOf(url) });
    proxies.push(proxy);
    return proxy;
  }

  /** Authenticated, envelope given, DATA answered 354: the body is still to come. */
  async function inData(port: number, from = 'a@durable.test'): Promise<RawSmtpClient> {
    const client = await fx.login(credential, { port, replyTimeoutMs: 30_000 });
    expectCode(await client.command(`MAIL FROM:<${from}>`), 250);
    expectCode(await client.command('RCPT TO:<x@dest.test>'), 250);
    expectCode(await client.command('DATA'), 354);
    return client;
  }

  async function nothingOfTenantStored(): Promise<void> {
    expect(await fx.messages.messages.countDocuments({ tenantId })).toBe(0);
    expect(await fx.messages.recipients.countDocuments({ tenantId })).toBe(0);
    expect(
      await fx.db.collection(`${MESSAGE_BUCKET}.files`).countDocuments({ 'metadata.tenantId': tenantId }),
    ).toBe(0);
    expect(await fx.orphanChunks()).toBe(0);
  }

  it('answers 451 4.3.0 when Redis goes down during DATA, keeps nothing, and accepts again once it is back', async () => {
    const redis = await proxyTo(fx.config.REDIS_URL);
    const ingress = await fx.startAnother({ REDIS_URL: `redis://127.0.0.1:${redis.port}` });
    const client = await inData(ingress.starttlsPort);

    await redis.stop();
    expect(summary(await client.sendRaw(dataPayload(message('a@durable.test'))))).toEqual(NOT_STORED);
    await nothingOfTenantStored();
    expect(await fx.queues.jobs('scan')).toEqual([]);

    await redis.start();
    const again = await waitFor(
      async () => {
        const retry = await fx.login(credential, { port: ingress.starttlsPort });
        expectCode(await retry.command('MAIL FROM:<a@durable.test>'), 250);
        return retry;
      },
      { timeoutMs: 15_000, intervalMs: 500 },
    );
    expectCode(await again.command('RCPT TO:<x@dest.test>'), 250);
    expectCode(await again.command('DATA'), 354);
    const accepted = await again.sendRaw(dataPayload(message('a@durable.test')));
    expectCode(accepted, 250);
    const messageId = accepted.text.replace('Ok: queued as ', '');
    expect((await fx.trace(messageId)).message?.state).toBe('accepted');
    await fx.messages.messages.deleteOne({ _id: messageId });
    await fx.messages.recipients.deleteMany({ messageId });
    await fx.store.delete(messageId);
  }, 60_000);

  it('answers 451 4.3.0 when the database goes down during DATA; the sweeper removes what was left', async () => {
    const database = await proxyTo(fx.config.MONGO_URL);
    const url = new URL(fx.config.MONGO_URL);
    url.port = String(database.port);
    const ingress = await fx.startAnother({ MONGO_URL: url.toString() });
    const refusedBefore = await fx.refusedMessageIds();
    const client = await inData(ingress.starttlsPort);
    // Some of the body reaches the store before the database goes.
    client.write(`From: a@durable.test\r\nSubject: big\r\n\r\n${'x'.repeat(900)}\r\n`.repeat(400));

    await database.stop();
    expect(summary(await client.sendRaw(dataPayload('last line\r\n')))).toEqual(NOT_STORED);

    await database.start();
    const [messageId] = (await fx.refusedMessageIds()).filter((id) => !refusedBefore.includes(id));
    expect(messageId).toBeDefined();
    // A sweep far enough in the future treats everything left as stale.
    const sweeper = sweeperOf(ingress);
    await waitFor(() => sweeper.sweep(Date.now() + fx.config.SER_INGRESS_SWEEP_GRACE_MS + 60_000), {
      timeoutMs: 20_000,
      intervalMs: 500,
    });
    expect(await fx.trace(messageId ?? '')).toEqual({ message: null, recipients: [], bodyStored: false });
    await nothingOfTenantStored();
  }, 90_000);

  it('sweeps only stale leftovers: receiving records, bodies without a record, chunks without a file', async () => {
    const old = new Date(Date.now() - fx.config.SER_INGRESS_SWEEP_GRACE_MS - 60_000);
    const base = {
      tenantId,
      appId: 'app_x',
      credentialId: 'cred_x',
      envelope: { mailFrom: 'a@durable.test', rcptTo: ['x@dest.test'] },
      headerFrom: 'a@durable.test',
      fromDomain: 'durable.test',
      size: 10,
      client: { ip: '127.0.0.1', tls: true },
      updatedAt: old,
      expiresAt: new Date(Date.now() + 86_400_000),
    };
    const put = (id: string) => fx.store.put(id, Readable.from([Buffer.from('body')]), { tenantId });
    await fx.messages.create({ ...base, _id: 'stalereceiving', state: 'receiving', createdAt: old });
    await put('stalereceiving');
    await fx.messages.create({ ...base, _id: 'freshreceiving', state: 'receiving', createdAt: new Date() });
    await fx.messages.create({ ...base, _id: 'oldaccepted', state: 'accepted', createdAt: old });
    await put('oldaccepted');
    await put('orphanbody');
    await fx.db
      .collection(`${MESSAGE_BUCKET}.files`)
      .updateMany(
        { filename: { $in: ['orphanbody', 'oldaccepted', 'stalereceiving'] } },
        { $set: { uploadDate: old } },
      );
    const cutOff = ObjectId.createFromTime(Math.floor(old.getTime() / 1000));
    await fx.db
      .collection(`${MESSAGE_BUCKET}.chunks`)
      .insertMany([0, 1].map((n) => ({ files_id: cutOff, n, data: Buffer.from('partial') })));
    const freshChunk = new ObjectId();
    await fx.db
      .collection(`${MESSAGE_BUCKET}.chunks`)
      .insertOne({ files_id: freshChunk, n: 0, data: Buffer.from('x') });

    // Two replicas sweeping at once remove each thing once between them.
    const sweeper = sweeperOf(fx.ingress);
    const results = await Promise.all([sweeper.sweep(), sweeperOf(await fx.startAnother({})).sweep()]);
    const total = (key: 'records' | 'bodies' | 'chunkSets') => results.reduce((n, r) => n + r[key], 0);
    expect(total('records')).toBeGreaterThanOrEqual(1);

    expect(await fx.messages.findById('stalereceiving')).toBeNull();
    expect(await fx.store.exists('stalereceiving')).toBe(false);
    expect(await fx.store.exists('orphanbody')).toBe(false);
    expect(await fx.db.collection(`${MESSAGE_BUCKET}.chunks`).countDocuments({ files_id: cutOff })).toBe(0);
    expect((await fx.messages.findById('freshreceiving'))?.state).toBe('receiving');
    expect((await fx.messages.findById('oldaccepted'))?.state).toBe('accepted');
    expect(await fx.store.exists('oldaccepted')).toBe(true);
    expect(await fx.db.collection(`${MESSAGE_BUCKET}.chunks`).countDocuments({ files_id: freshChunk })).toBe(
      1,
    );

    // One replica per interval: the turn is taken in Redis.
    const turns = await Promise.all([sweeper.sweepIfOurTurn(), sweeper.sweepIfOurTurn()]);
    expect(turns.filter((t) => t !== undefined)).toHaveLength(1);

    await fx.db.collection(`${MESSAGE_BUCKET}.chunks`).deleteMany({ files_id: freshChunk });
    for (const id of ['freshreceiving', 'oldaccepted']) {
      await fx.messages.messages.deleteOne({ _id: id });
      await fx.messages.recipients.deleteMany({ messageId: id });
      await fx.store.delete(id);
    }
  });

  it('on stop, lets a message in DATA finish with 250 and sends idle sessions 421 4.3.2', async () => {
    const ingress = await fx.startAnother({});
    const busy = await inData(ingress.starttlsPort);
    busy.write('From: a@durable.test\r\nSubject: drain\r\n\r\n');
    const idle = await fx.login(credential, { port: ingress.starttlsPort });

    const stopped = ingress.running.stop();
    expect(summary(await idle.read())).toEqual({
      code: 421,
      enhanced: '4.3.2',
      text: 'Service shutting down, try again later',
    });
    await idle.whenClosed();
    await expect(
      RawSmtpClient.connect({ port: ingress.starttlsPort, ca: fx.setup.tls.cert }),
    ).rejects.toMatchObject({ code: 'ECONNREFUSED' });

    const reply = await busy.sendRaw(dataPayload('The rest of the message.\r\n'));
    expect(reply.code).toBe(250);
    const messageId = reply.text.replace('Ok: queued as ', '');
    expect((await fx.trace(messageId)).message?.state).toBe('accepted');
    await stopped;
    await busy.whenClosed();
  }, 30_000);
});
