import { newMessageId } from '@ser/contracts';
import { ensureIndexes } from '@ser/mongo';
import type { MongoConnection } from '@ser/mongo';
import { connectTestDatabase } from '@ser/testing';
import { messageIndexes, MessageRepository, recipientId } from '../src';
import type { MessageDocument } from '../src';

/** MessageRepository against the real FerretDB from MONGO_URL, in a database of this file's own. */
let mongo: MongoConnection;

beforeAll(async () => {
  mongo = await connectTestDatabase('data-messages-int-spec');
  await ensureIndexes(mongo.db, messageIndexes);
});

afterAll(async () => {
  await mongo?.db.dropDatabase();
  await mongo?.close();
});

function message(overrides: Partial<MessageDocument> = {}): MessageDocument {
  const now = new Date();
  return {
    _id: newMessageId(),
    tenantId: 'ten_a',
    appId: 'app_a',
    credentialId: 'cred_a',
    envelope: {
      mailFrom: 'billing@acme.test',
      rcptTo: ['Bob@Dest.TEST', 'carol@dest.test', 'dave@other.test'],
    },
    headerFrom: 'billing@acme.test',
    fromDomain: 'acme.test',
    size: 1234,
    state: 'accepted',
    client: { ip: '127.0.0.1', tls: true },
    createdAt: now,
    updatedAt: now,
    expiresAt: new Date(now.getTime() + 86_400_000),
    ...overrides,
  };
}

describe('MessageRepository', () => {
  let messages: MessageRepository;

  beforeAll(() => {
    messages = new MessageRepository(mongo.db);
  });

  it('creates the message and one pending, lowercased recipient document per address', async () => {
    const doc = message();
    await messages.create(doc);

    expect(await messages.findById(doc._id)).toMatchObject({ _id: doc._id, state: 'accepted', size: 1234 });
    const ledger = await messages.recipientsFor(doc._id);
    expect(ledger.map((r) => [r._id, r.address, r.domain, r.state, r.attempts, r.tenantId])).toEqual([
      [recipientId(doc._id, 'bob@dest.test'), 'bob@dest.test', 'dest.test', 'pending', 0, 'ten_a'],
      [recipientId(doc._id, 'carol@dest.test'), 'carol@dest.test', 'dest.test', 'pending', 0, 'ten_a'],
      [recipientId(doc._id, 'dave@other.test'), 'dave@other.test', 'other.test', 'pending', 0, 'ten_a'],
    ]);
  });

  it('is idempotent: creating the same message twice keeps one message and one ledger', async () => {
    const doc = message();
    await messages.create(doc);
    await messages.create({ ...doc, size: 9999 });

    expect(await messages.messages.countDocuments({ _id: doc._id })).toBe(1);
    expect((await messages.findById(doc._id))?.size).toBe(1234);
    expect(await messages.recipients.countDocuments({ messageId: doc._id })).toBe(3);
  });

  it('keeps one recipient document for addresses differing only in case', async () => {
    const doc = message({
      envelope: { mailFrom: 'a@acme.test', rcptTo: ['Eve@Dest.test', 'eve@dest.test', 'EVE@DEST.TEST'] },
    });
    await messages.create(doc);
    const ledger = await messages.recipientsFor(doc._id);
    expect(ledger.map((r) => r.address)).toEqual(['eve@dest.test']);
  });

  it('completes a partial earlier create (ledger written, message record missing)', async () => {
    const doc = message();
    await messages.create(doc);
    await messages.messages.deleteOne({ _id: doc._id });

    await messages.create(doc);

    expect(await messages.findById(doc._id)).not.toBeNull();
    expect(await messages.recipients.countDocuments({ messageId: doc._id })).toBe(3);
  });

  it('scopes findForTenant by tenant', async () => {
    const doc = message();
    await messages.create(doc);
    expect(await messages.findForTenant('ten_a', doc._id)).not.toBeNull();
    expect(await messages.findForTenant('ten_b', doc._id)).toBeNull();
  });

  it('moves the state only from an allowed state, once', async () => {
    const doc = message();
    await messages.create(doc);

    const av = { engine: 'clamav', result: 'clean' } as const;
    expect(await messages.transition(doc._id, ['accepted'], 'scanned', { av })).toBe(true);
    const scanned = await messages.findById(doc._id);
    expect(scanned).toMatchObject({ state: 'scanned', av });
    expect(scanned!.updatedAt.getTime()).toBeGreaterThanOrEqual(doc.updatedAt.getTime());

    // A redelivered scan job finds the state already moved.
    expect(await messages.transition(doc._id, ['accepted'], 'rejected_av', { reason: 'late' })).toBe(false);
    const after = await messages.findById(doc._id);
    expect(after?.state).toBe('scanned');
    expect(after?.reason).toBeUndefined();

    expect(await messages.transition(doc._id, ['signed', 'delivering'], 'delivered')).toBe(false);
    expect((await messages.findById(doc._id))?.state).toBe('scanned');
    expect(await messages.transition(doc._id, ['accepted', 'scanned'], 'signed')).toBe(true);
    expect((await messages.findById(doc._id))?.state).toBe('signed');
  });

  it('returns false for a transition of an unknown message', async () => {
    expect(await messages.transition(newMessageId(), ['accepted'], 'scanned')).toBe(false);
  });

  it('records attempts, and never overwrites a delivered or bounced recipient', async () => {
    const doc = message();
    await messages.create(doc);
    const [bob, carol] = ['bob@dest.test', 'carol@dest.test'];

    expect(await messages.recordRecipient(doc._id, bob, { state: 'deferred', reply: '451 try later' })).toBe(
      true,
    );
    // The address is matched case-insensitively, like the ledger was written.
    expect(
      await messages.recordRecipient(doc._id, 'BOB@dest.test', { state: 'delivered', reply: '250 ok' }),
    ).toBe(true);
    expect(await messages.recordRecipient(doc._id, bob, { state: 'bounced', reply: '550 late' })).toBe(false);
    expect(await messages.recordRecipient(doc._id, bob, { state: 'deferred', reply: '451 again' })).toBe(
      false,
    );

    expect(
      await messages.recordRecipient(doc._id, carol, { state: 'bounced', reply: '550 no such user' }),
    ).toBe(true);
    expect(await messages.recordRecipient(doc._id, carol, { state: 'delivered', reply: '250 ok' })).toBe(
      false,
    );

    const ledger = await messages.recipientsFor(doc._id, 'dest.test');
    expect(ledger.map((r) => [r.address, r.state, r.attempts, r.lastReply])).toEqual([
      ['bob@dest.test', 'delivered', 2, '250 ok'],
      ['carol@dest.test', 'bounced', 1, '550 no such user'],
    ]);
  });

  it('returns false for a recipient that is not in the ledger', async () => {
    const doc = message();
    await messages.create(doc);
    expect(
      await messages.recordRecipient(doc._id, 'stranger@dest.test', { state: 'delivered', reply: '250' }),
    ).toBe(false);
    expect(await messages.recipients.countDocuments({ messageId: doc._id })).toBe(3);
  });

  it('lists recipients by domain, sorted by address, for that message only', async () => {
    const doc = message({
      envelope: { mailFrom: 'a@acme.test', rcptTo: ['zed@dest.test', 'amy@dest.test', 'x@other.test'] },
    });
    const otherMessage = message({ envelope: { mailFrom: 'a@acme.test', rcptTo: ['bea@dest.test'] } });
    await messages.create(doc);
    await messages.create(otherMessage);

    expect((await messages.recipientsFor(doc._id, 'dest.test')).map((r) => r.address)).toEqual([
      'amy@dest.test',
      'zed@dest.test',
    ]);
    expect((await messages.recipientsFor(doc._id, 'other.test')).map((r) => r.address)).toEqual([
      'x@other.test',
    ]);
    expect(await messages.recipientsFor(doc._id, 'nowhere.test')).toEqual([]);
  });
});
