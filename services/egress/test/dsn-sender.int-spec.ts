import type { RelayConfig } from '@ser/config';
import { jobIds, MESSAGE_ID_PATTERN, newMessageId } from '@ser/contracts';
import { MessageRepository } from '@ser/data';
import type { MessageDocument } from '@ser/data';
import { GridFsMessageStore, MESSAGE_BUCKET } from '@ser/mongo';
import type { MongoConnection } from '@ser/mongo';
import { EventPublisher, QueueBus } from '@ser/queue';
import { connectTestDatabase, relayTestConfig } from '@ser/testing';
import { simpleParser } from 'mailparser';
import { Readable } from 'node:stream';
import { DsnSender } from '../src/bounces/dsn-sender';
import type { DsnRecipient } from '../src/bounces/dsn-sender';

const BODY_MARKER = 'confidential body line';

describe('DsnSender', () => {
  let config: RelayConfig;
  let mongo: MongoConnection;
  let bus: QueueBus;
  let messages: MessageRepository;
  let store: GridFsMessageStore;
  let sender: DsnSender;

  beforeAll(async () => {
    ({ config } = await relayTestConfig());
    mongo = await connectTestDatabase('dsn-sender-int-spec', config.mongoDb);
    bus = new QueueBus(config.REDIS_URL, config.SER_QUEUE_PREFIX);
    messages = new MessageRepository(mongo.db);
    store = new GridFsMessageStore(mongo.db);
    sender = new DsnSender(messages, store, bus, new EventPublisher(bus), config);
  });

  afterAll(async () => {
    await bus?.close();
    await mongo?.close();
  });

  /** A message as egress sees it: body in the store, record and ledger in the database. */
  async function original(overrides: Partial<MessageDocument> = {}, bodyLines = 1): Promise<MessageDocument> {
    const id = newMessageId();
    const raw = [
      'From: billing@acme.test',
      'To: a@dest.test, b@dest.test',
      `Subject: invoice ${id}`,
      `Message-ID: <${id}@acme.test>`,
      '',
      ...Array.from({ length: bodyLines }, () => BODY_MARKER),
      '',
    ].join('\r\n');
    await store.put(id, Readable.from([Buffer.from(raw)]), {});
    const createdAt = new Date(Date.now() - 3_600_000);
    const message: MessageDocument = {
      _id: id,
      tenantId: 'ten_dsn',
      appId: 'app_dsn',
      credentialId: 'cred_dsn',
      envelope: { mailFrom: 'Bounces@Saas.test', rcptTo: ['a@dest.test', 'b@dest.test'] },
      headerFrom: 'billing@acme.test',
      fromDomain: 'acme.test',
      size: raw.length,
      state: 'delivering',
      client: { ip: '192.0.2.7', tls: true },
      createdAt,
      updatedAt: createdAt,
      expiresAt: new Date(createdAt.getTime() + 7 * 86_400_000),
      ...overrides,
    };
    await messages.create(message);
    return message;
  }

  const bounced: DsnRecipient = {
    address: 'a@dest.test',
    reply: '550 5.1.1 No such user',
    remoteMta: 'mx.dest.test',
    lastAttemptAt: new Date(),
  };
  const expired: DsnRecipient = {
    address: 'b@dest.test',
    reply: '451 4.2.1 Mailbox busy',
    lastAttemptAt: new Date(),
    expired: true,
  };
  const failed = [bounced, expired];

  const deliverJob = (dsnId: string) => bus.queue('deliver').getJob(jobIds.deliver(dsnId, 'saas.test'));
  const eventJob = (orig: MessageDocument, dsnId: string) =>
    bus.queue('events').getJob(`${orig._id}.delivery.dsn_sent.${dsnId}`);
  const dsnsOf = (orig: MessageDocument) => messages.messages.find({ dsnFor: orig._id }).toArray();
  const storedCopies = (id: string) =>
    mongo.db.collection(`${MESSAGE_BUCKET}.files`).countDocuments({ filename: id });

  it('stores a report about the failed recipients, records it as signed, enqueues it and publishes the fact', async () => {
    const orig = await original();
    const dsnId = await sender.send(orig, failed);

    expect(dsnId).toMatch(MESSAGE_ID_PATTERN);
    const dsn = await messages.findById(dsnId ?? '');
    expect(dsn).toMatchObject({
      tenantId: 'ten_dsn',
      appId: 'app_dsn',
      credentialId: 'cred_dsn',
      dsnFor: orig._id,
      state: 'signed',
      envelope: { mailFrom: '', rcptTo: ['Bounces@Saas.test'] },
      headerFrom: 'mailer-daemon@relay.test',
      fromDomain: 'relay.test',
      client: { ip: '192.0.2.7', tls: true },
    });
    // The original's retention (7 days), counted from now.
    const retention = (dsn?.expiresAt.getTime() ?? 0) - (dsn?.createdAt.getTime() ?? 0);
    expect(retention).toBe(7 * 86_400_000);
    expect(await messages.recipientsFor(dsnId ?? '', 'saas.test')).toMatchObject([
      { address: 'bounces@saas.test', state: 'pending' },
    ]);

    const raw = await store.read(dsnId ?? '');
    expect(dsn?.size).toBe(raw.length);
    const mail = await simpleParser(raw);
    expect(mail.messageId).toBe(`<${dsnId ?? ''}@relay.test>`);
    expect(mail.inReplyTo).toBe(`<${orig._id}@acme.test>`);
    expect(mail.to).toMatchObject({ value: [{ address: 'Bounces@Saas.test' }] });
    expect(mail.text).toContain('Final-Recipient: rfc822; a@dest.test\nAction: failed\nStatus: 5.1.1');
    expect(mail.text).toContain('Final-Recipient: rfc822; b@dest.test\nAction: failed\nStatus: 4.4.7');
    expect(mail.text).toContain(`Arrival-Date: ${orig.createdAt.toUTCString().replace('GMT', '+0000')}`);
    const headers = mail.attachments.find((a) => a.contentType === 'text/rfc822-headers');
    expect(headers?.content.toString()).toContain(`Subject: invoice ${orig._id}\r\n`);
    expect(raw.toString()).not.toContain(BODY_MARKER);

    expect((await deliverJob(dsnId ?? ''))?.data).toEqual({ v: 1, messageId: dsnId, domain: 'saas.test' });
    expect((await eventJob(orig, dsnId ?? ''))?.data).toMatchObject({
      type: 'delivery.dsn_sent',
      tenantId: 'ten_dsn',
      appId: 'app_dsn',
      messageId: orig._id,
      data: { dsnMessageId: dsnId, recipients: ['a@dest.test', 'b@dest.test'] },
    });
  });

  it('makes nothing new when sent again for the same recipients (a redelivered job)', async () => {
    const orig = await original();
    const first = await sender.send(orig, failed);
    const before = await bus.queue('deliver').getJobCounts();

    // Same recipients, other order, case and attempt times: the same DSN.
    const again = await sender.send(orig, [
      { ...expired, address: 'B@dest.test', lastAttemptAt: new Date() },
      { ...bounced, lastAttemptAt: new Date() },
    ]);

    expect(again).toBe(first);
    expect((await dsnsOf(orig)).map((m) => m._id)).toEqual([first]);
    expect(await storedCopies(first ?? '')).toBe(1);
    expect(await bus.queue('deliver').getJobCounts()).toEqual(before);
  });

  it('does not enqueue a DSN again once egress has taken it, even if its job is gone', async () => {
    const orig = await original();
    const dsnId = (await sender.send(orig, failed)) ?? '';
    await (await deliverJob(dsnId))?.remove();
    await messages.transition(dsnId, ['signed'], 'delivered');

    expect(await sender.send(orig, failed)).toBe(dsnId);
    expect(await deliverJob(dsnId)).toBeUndefined();
  });

  it('finishes a DSN whose record exists but whose job was never enqueued (crash in between)', async () => {
    const orig = await original();
    const dsnId = (await sender.send(orig, failed)) ?? '';
    await (await deliverJob(dsnId))?.remove();

    expect(await sender.send(orig, failed)).toBe(dsnId);
    expect((await deliverJob(dsnId))?.data).toMatchObject({ messageId: dsnId });
  });

  it('sends a separate DSN for recipients that fail later', async () => {
    const orig = await original();
    const first = await sender.send(orig, [bounced]);
    const second = await sender.send(orig, [expired]);

    expect(second).not.toBe(first);
    expect((await dsnsOf(orig)).map((m) => m._id).sort()).toEqual([first, second].sort());
    const report = await simpleParser(await store.read(second ?? ''));
    expect(report.text).toContain('Final-Recipient: rfc822; b@dest.test');
    expect(report.text).not.toContain('a@dest.test');
  });

  it('reads only the header section of a large original', async () => {
    const orig = await original({}, 20_000);
    const dsnId = (await sender.send(orig, failed)) ?? '';
    const raw = await store.read(dsnId);
    expect(orig.size).toBeGreaterThan(400_000);
    expect(raw.length).toBeLessThan(4096);
    expect(raw.toString()).toContain(`Message-ID: <${orig._id}@acme.test>`);
  });

  it.each([
    ['a null reverse path', { envelope: { mailFrom: '', rcptTo: ['a@dest.test'] } }],
    ['a DSN', { dsnFor: 'aaaaaaaaaaaaaaaaaaaaaaaaaa', envelope: { mailFrom: '', rcptTo: ['x@saas.test'] } }],
    ['a DSN with a reverse path', { dsnFor: 'aaaaaaaaaaaaaaaaaaaaaaaaaa' }],
  ])('sends nothing about %s', async (_what, overrides: Partial<MessageDocument>) => {
    const orig = await original(overrides);
    const before = await bus.queue('deliver').getJobCounts();

    expect(await sender.send(orig, failed)).toBeUndefined();
    expect(await dsnsOf(orig)).toEqual([]);
    expect(await bus.queue('deliver').getJobCounts()).toEqual(before);
  });
});
