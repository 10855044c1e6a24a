import { jobIds, newMessageId } from '@ser/contracts';
import { dkimKeyAad, MessageRepository, newId, TenantConfigRepository } from '@ser/data';
import type { DkimAlgorithm, MessageDocument } from '@ser/data';
import { createLogger } from '@ser/logger';
import { GridFsMessageStore } from '@ser/mongo';
import type { MongoConnection } from '@ser/mongo';
import { QueueBus } from '@ser/queue';
import { startServices } from '@ser/runtime';
import type { RunningServices } from '@ser/runtime';
import { SecretBox } from '@ser/security';
import { connectTestDatabase, relayTestConfig, testMail, verifyWithDkimpy, waitFor } from '@ser/testing';
import { dkimVerify } from 'mailauth/lib/dkim/verify';
import { generateKeyPairSync } from 'node:crypto';
import { Readable } from 'node:stream';
import { signerService } from '../src/index';
import { SignJobReconciler } from '../src/jobs/sign-job-reconciler';

/** The signer service alone on the real FerretDB and Redis; verified by mailauth and dkimpy. */
describe('signer', () => {
  let running: RunningServices;
  let mongo: MongoConnection;
  let bus: QueueBus;
  let messages: MessageRepository;
  let tenants: TenantConfigRepository;
  let box: SecretBox;
  /** Enqueues sign jobs with two quick attempts, so a test reaches the last attempt in a second. */
  let quickBus: QueueBus;
  const records: Record<string, string> = {};

  beforeAll(async () => {
    const { config } = await relayTestConfig();
    running = await startServices(
      [signerService],
      config,
      createLogger({ level: config.SER_LOG_LEVEL, pretty: false }),
    );
    mongo = await connectTestDatabase('signer-int-spec', config.mongoDb);
    bus = new QueueBus(config.REDIS_URL, config.SER_QUEUE_PREFIX);
    quickBus = new QueueBus(config.REDIS_URL, config.SER_QUEUE_PREFIX, {
      sign: { attempts: 2, backoff: { type: 'fixed', delay: 200 } },
    });
    messages = new MessageRepository(mongo.db);
    tenants = new TenantConfigRepository(mongo.db);
    box = new SecretBox(config.SER_MASTER_KEY ?? '');
  });

  afterAll(async () => {
    await running?.stop();
    await bus?.close();
    await quickBus?.close();
    await mongo?.db.dropDatabase();
    await mongo?.close();
  });

  async function tenant(domain: string, noKey?: 'hold' | 'send_unsigned'): Promise<string> {
    const tenantId = newId('ten');
    await tenants.tenants.insertOne({
      _id: tenantId,
      name: domain,
      status: 'active',
      createdAt: new Date(),
      ...(noKey === undefined ? {} : { dkimNoKeyPolicy: noKey }),
    });
    return tenantId;
  }

  /** An active key of the domain, published in `records`; `activatedAt` orders a rotation. */
  async function activeKey(
    tenantId: string,
    domain: string,
    algorithm: DkimAlgorithm,
    activatedAt = new Date(),
  ) {
    const pair =
      algorithm === 'rsa'
        ? generateKeyPairSync('rsa', { modulusLength: 2048 })
        : generateKeyPairSync('ed25519');
    const spki = pair.publicKey.export({ type: 'spki', format: 'der' });
    const publicKey = (algorithm === 'rsa' ? spki : spki.subarray(spki.length - 32)).toString('base64');
    const id = newId('dk');
    const selector = `s${id.slice(-8).toLowerCase()}`;
    await tenants.dkimKeys.insertOne({
      _id: id,
      tenantId,
      domainId: `dom_${domain}`,
      domain,
      selector,
      algorithm,
      publicKey,
      privateKey: box.seal(
        pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
        dkimKeyAad(id),
      ),
      status: 'active',
      createdAt: activatedAt,
      activatedAt,
    });
    records[`${selector}._domainkey.${domain}`] = `v=DKIM1; k=${algorithm}; p=${publicKey}`;
    return { id, selector };
  }

  /** A `scanned` message of `from` with its body stored; no job yet. */
  async function scannedMessage(tenantId: string, from: string, updatedAt = new Date()): Promise<string> {
    const id = newMessageId();
    const body = testMail({ from, subject: 'Your receipt', text: 'Thank you.' });
    await new GridFsMessageStore(mongo.db).put(id, Readable.from([Buffer.from(body)]), {});
    const now = new Date();
    await messages.create({
      _id: id,
      tenantId,
      appId: 'app_test',
      credentialId: 'cred_test',
      envelope: { mailFrom: 'bounce@saas.test', rcptTo: ['b@dest.test'] },
      headerFrom: from,
      fromDomain: from.slice(from.indexOf('@') + 1),
      size: body.length,
      state: 'scanned',
      client: { ip: '127.0.0.1', tls: true },
      createdAt: now,
      updatedAt,
      expiresAt: now,
    });
    return id;
  }

  /** Signs `from`'s message through a sign job and returns the record once it left `scanned`. */
  async function sign(tenantId: string, from: string, through = bus): Promise<MessageDocument> {
    const id = await scannedMessage(tenantId, from);
    await through.enqueue('sign', { v: 1, messageId: id }, jobIds.sign(id));
    return leftScanned(id);
  }

  function leftScanned(id: string): Promise<MessageDocument> {
    return waitFor(async () => {
      const m = await messages.findById(id);
      return m !== null && m.state !== 'scanned' ? m : undefined;
    });
  }

  async function signedMessage(message: MessageDocument): Promise<Buffer> {
    const body = await new GridFsMessageStore(mongo.db).read(message._id);
    return Buffer.concat([Buffer.from(message.dkim?.headers ?? ''), body]);
  }

  async function mailauth(raw: Buffer) {
    const { results } = await dkimVerify(raw, {
      resolver: (name: string) =>
        records[name] === undefined
          ? Promise.reject(Object.assign(new Error('not found'), { code: 'ENOTFOUND' }))
          : Promise.resolve([[records[name]]]),
    });
    return results.map((r) => ({
      result: r.status.result,
      domain: r.signingDomain,
      aligned: r.status.aligned,
    }));
  }

  it('signs a subdomain sender with its organisational domain, d= aligned with From, both verifiers pass', async () => {
    const tenantId = await tenant('acme.test');
    await activeKey(tenantId, 'acme.test', 'rsa');
    const message = await sign(tenantId, 'alerts@mail.acme.test');
    expect(message.state).toBe('signed');
    expect(message.dkim?.domain).toBe('acme.test');
    const raw = await signedMessage(message);
    expect(await mailauth(raw)).toEqual([{ result: 'pass', domain: 'acme.test', aligned: 'acme.test' }]);
    expect(verifyWithDkimpy(raw, records)).toEqual([
      expect.objectContaining({ valid: true, domain: 'acme.test' }),
    ]);
    await waitFor(() => bus.queue('deliver').getJob(jobIds.deliver(message._id, 'dest.test')), {
      description: 'deliver job',
    });
  });

  it("prefers the From domain's own key to its organisational domain's", async () => {
    const tenantId = await tenant('shop.test');
    await activeKey(tenantId, 'shop.test', 'rsa');
    await activeKey(tenantId, 'eu.shop.test', 'ed25519');
    expect((await sign(tenantId, 'orders@eu.shop.test')).dkim?.domain).toBe('eu.shop.test');
  });

  it('dual-signs with RSA and Ed25519 when the domain has both, and both verify', async () => {
    const tenantId = await tenant('dual.test');
    await activeKey(tenantId, 'dual.test', 'rsa');
    await activeKey(tenantId, 'dual.test', 'ed25519');
    const message = await sign(tenantId, 'billing@dual.test');
    expect(message.dkim?.signatures?.map((s) => s.algorithm)).toEqual(['rsa', 'ed25519']);
    const raw = await signedMessage(message);
    expect((await mailauth(raw)).map((r) => r.result)).toEqual(['pass', 'pass']);
    expect(verifyWithDkimpy(raw, records).map((r) => r.valid)).toEqual([true, true]);
  });

  it('keeps every message signed through a rotation: the newly activated key takes over, then the old one retires', async () => {
    const tenantId = await tenant('rotate.test');
    const old = await activeKey(tenantId, 'rotate.test', 'rsa', new Date(Date.now() - 60_000));
    expect((await sign(tenantId, 'a@rotate.test')).dkim?.selector).toBe(old.selector);
    const next = await activeKey(tenantId, 'rotate.test', 'rsa');
    const during = await sign(tenantId, 'a@rotate.test');
    expect(during.dkim?.selector).toBe(next.selector);
    await tenants.dkimKeys.updateOne({ _id: old.id }, { $set: { status: 'retired', retiredAt: new Date() } });
    const after = await sign(tenantId, 'a@rotate.test');
    expect(after.dkim?.selector).toBe(next.selector);
    for (const message of [during, after]) {
      expect((await mailauth(await signedMessage(message)))[0]?.result).toBe('pass');
    }
  });

  it('holds a message without a key by default, and sends it unsigned when the tenant says so', async () => {
    const holding = await tenant('nokey.test');
    const held = await sign(holding, 'a@nokey.test');
    expect(held).toMatchObject({ state: 'held', reason: 'dkim_key_missing' });
    expect(await bus.queue('deliver').getJob(jobIds.deliver(held._id, 'dest.test'))).toBeUndefined();

    const lenient = await tenant('unsigned.test', 'send_unsigned');
    const unsigned = await sign(lenient, 'a@unsigned.test');
    expect(unsigned).toMatchObject({
      state: 'signed',
      unsigned: { reason: 'dkim_key_missing', domain: 'unsigned.test' },
    });
    expect(unsigned.dkim).toBeUndefined();
    await waitFor(() => bus.queue('deliver').getJob(jobIds.deliver(unsigned._id, 'dest.test')), {
      description: 'deliver job',
    });
    const events = (await bus.queue('events').getJobs(['waiting', 'delayed', 'completed']))
      .map((j) => j.data as { id: string; data: Record<string, unknown> })
      .filter((e) => e.id.startsWith(`${held._id}.`) || e.id.startsWith(`${unsigned._id}.`));
    expect(events.map((e) => e.id).sort()).toEqual([`${held._id}.held`, `${unsigned._id}.signed`].sort());
    expect(events.find((e) => e.id === `${unsigned._id}.signed`)?.data['unsigned']).toEqual({
      reason: 'dkim_key_missing',
      domain: 'unsigned.test',
    });
  });

  it('holds a message it cannot sign after the last attempt (sign_failed), with an event, and sends nothing', async () => {
    const tenantId = await tenant('broken.test');
    const key = await activeKey(tenantId, 'broken.test', 'rsa');
    // A key sealed for another key id: the master key cannot open it (as after a bad key import).
    const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    await tenants.dkimKeys.updateOne(
      { _id: key.id },
      {
        $set: {
          privateKey: box.seal(
            privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
            dkimKeyAad('dk_other'),
          ),
        },
      },
    );
    const held = await sign(tenantId, 'alerts@broken.test', quickBus);
    expect(held).toMatchObject({ state: 'held', reason: 'sign_failed' });
    expect(held.dkim).toBeUndefined();
    // The first attempt failed and was retried; the last one held the message and completed.
    await waitFor(async () => (await bus.queue('sign').getJobState(jobIds.sign(held._id))) === 'completed');
    expect((await bus.queue('sign').getJob(jobIds.sign(held._id)))?.attemptsMade).toBe(2);
    expect(await bus.queue('deliver').getJob(jobIds.deliver(held._id, 'dest.test'))).toBeUndefined();
    const event = await waitFor(async () =>
      (await bus.queue('events').getJobs(['waiting', 'delayed', 'completed']))
        .map((j) => j.data as { id: string; data: Record<string, unknown> })
        .find((e) => e.id === `${held._id}.held`),
    );
    expect(event.data['reason']).toBe('sign_failed');
    expect(typeof event.data['error']).toBe('string');
  });

  it('re-creates the sign job of a message left waiting in scanned without one, and only of those', async () => {
    const tenantId = await tenant('lostjob.test');
    await activeKey(tenantId, 'lostjob.test', 'ed25519');
    const longAgo = new Date(Date.now() - 3_600_000);
    // Redis lost its job; another finished its job (kept by retention) yet is still `scanned`.
    const lost = await scannedMessage(tenantId, 'a@lostjob.test', longAgo);
    const finished = await scannedMessage(tenantId, 'b@lostjob.test', longAgo);
    await bus.enqueue('sign', { v: 1, messageId: finished }, jobIds.sign(finished));
    await leftScanned(finished);
    await messages.messages.updateOne(
      { _id: finished },
      { $set: { state: 'scanned', updatedAt: longAgo }, $unset: { dkim: '' } },
    );
    const recent = await scannedMessage(tenantId, 'c@lostjob.test');
    const reconciler = running.contexts.get('signer')?.get(SignJobReconciler);
    if (reconciler === undefined) {
      throw new Error('the signer has no SignJobReconciler');
    }

    const result = await reconciler.reconcile();

    expect(result.requeued).toBe(2);
    for (const id of [lost, finished]) {
      expect(await leftScanned(id)).toMatchObject({ state: 'signed' });
    }
    expect((await messages.findById(recent))?.state).toBe('scanned');
    expect(await bus.queue('sign').getJob(jobIds.sign(recent))).toBeUndefined();
    // The re-created jobs ran; a second pass finds nothing left to do.
    expect(await reconciler.reconcile()).toMatchObject({ requeued: 0 });
  });
});
