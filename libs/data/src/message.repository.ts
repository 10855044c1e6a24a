import type { MessageState } from '@ser/contracts';
import type { Collection, Db, Filter } from 'mongodb';
import type { MessageDocument, RecipientDocument, RecipientOutbox } from './documents';
import { COLLECTIONS } from './documents';
import { isDuplicateKeyError } from './tenant-config.repository';

export interface RecipientResult {
  state: 'delivered' | 'deferred' | 'bounced' | 'expired' | 'suppressed';
  reply: string;
  /** For `deferred`: when egress tries again. */
  nextAttemptAt?: Date;
  /** The outcome of this attempt is unknown (connection lost after the final `.`). */
  ambiguous?: boolean;
  /** Whether this result comes from a delivery attempt (suppression does not attempt anything). */
  attempted?: boolean;
  /** The effects to carry out after recording (see RecipientDocument.outbox). */
  outbox?: RecipientOutbox;
  /**
   * A condition: record only while the recipient is still in flight for this attempt (see
   * RecipientDocument.inFlightAttempt). A result written again because the reply to the first
   * write was lost then changes nothing instead of counting the attempt twice.
   */
  inFlightAttempt?: number;
}

/** The system of record for messages and the per-recipient delivery ledger. */
export class MessageRepository {
  readonly messages: Collection<MessageDocument>;
  readonly recipients: Collection<RecipientDocument>;

  constructor(db: Db) {
    this.messages = db.collection(COLLECTIONS.messages);
    this.recipients = db.collection(COLLECTIONS.recipients);
  }

  /** Writes the message record and its recipient ledger; safe to repeat for the same id. */
  async create(message: MessageDocument): Promise<void> {
    const ledger = message.envelope.rcptTo.map((address) => recipientDocument(message, address));
    await this.insertIgnoringDuplicates(this.recipients, ledger);
    await this.insertIgnoringDuplicates(this.messages, [message]);
  }

  findById(messageId: string): Promise<MessageDocument | null> {
    return this.messages.findOne({ _id: messageId });
  }

  findForTenant(tenantId: string, messageId: string): Promise<MessageDocument | null> {
    return this.messages.findOne({ _id: messageId, tenantId });
  }

  /**
   * Moves a message to `to` only from one of the `from` states: a redelivered job finds the state
   * already moved and does nothing (exactly-once effect on top of at-least-once jobs).
   */
  async transition(
    messageId: string,
    from: readonly MessageState[],
    to: MessageState,
    set: Partial<MessageDocument> = {},
  ): Promise<boolean> {
    const result = await this.messages.updateOne(
      { _id: messageId, state: { $in: [...from] } },
      { $set: { ...set, state: to, updatedAt: new Date() } },
    );
    return result.modifiedCount === 1;
  }

  /**
   * Moves a message only if it is still in the state and round the caller saw: an operator
   * decision taken on a stale view (two concurrent releases, or a message that has since gone
   * round the pipeline again) changes nothing and returns false.
   */
  async transitionSeen(
    messageId: string,
    seen: { state: MessageState; round: number },
    to: MessageState,
    set: Partial<MessageDocument> = {},
    unset: readonly (keyof MessageDocument)[] = [],
  ): Promise<boolean> {
    const round: Filter<MessageDocument> =
      seen.round === 0 ? { $or: [{ round: { $exists: false } }, { round: 0 }] } : { round: seen.round };
    const result = await this.messages.updateOne(
      { _id: messageId, state: seen.state, ...round },
      {
        $set: { ...set, state: to, updatedAt: new Date() },
        ...(unset.length > 0 ? { $unset: Object.fromEntries(unset.map((key) => [key, ''])) } : {}),
      },
    );
    return result.modifiedCount === 1;
  }

  /** A tenant's messages in one state, newest first (ids are time-ordered), after the `before` id. */
  listInState(
    tenantId: string,
    state: MessageState,
    page: { limit: number; before?: string },
  ): Promise<MessageDocument[]> {
    const filter: Filter<MessageDocument> = { tenantId, state };
    if (page.before !== undefined) {
      filter._id = { $lt: page.before };
    }
    return this.messages.find(filter).sort({ _id: -1 }).limit(page.limit).toArray();
  }

  /**
   * One page of a tenant's messages matching every given filter, newest first (by id, which is
   * time-ordered), after the `before` id. Addresses are compared as given (callers lowercase them).
   */
  async search(query: MessageSearchQuery, limit: number): Promise<MessageDocument[]> {
    const filter = searchFilter(query);
    if (query.recipient === undefined) {
      if (query.before !== undefined) {
        filter._id =
          query.messageId === undefined ? { $lt: query.before } : { $eq: query.messageId, $lt: query.before };
      }
      return this.messages.find(filter).sort({ _id: -1 }).limit(limit).toArray();
    }
    return this.searchByRecipient(query.tenantId, query.recipient, filter, query.before, limit);
  }

  /**
   * Walks the (lowercase) recipient ledger newest first and keeps the messages that match the
   * other filters: the ledger's index gives the order, so a page costs a few index reads.
   */
  private async searchByRecipient(
    tenantId: string,
    address: string,
    filter: Filter<MessageDocument>,
    before: string | undefined,
    limit: number,
  ): Promise<MessageDocument[]> {
    const found: MessageDocument[] = [];
    let after = before;
    for (;;) {
      const rows = await this.recipients
        .find(
          { tenantId, address, ...(after === undefined ? {} : { messageId: { $lt: after } }) },
          { projection: { messageId: 1 } },
        )
        .sort({ messageId: -1 })
        .limit(RECIPIENT_SCAN)
        .toArray();
      const ids = rows.map((r) => r.messageId);
      const wanted = typeof filter._id === 'string' ? ids.filter((id) => id === filter._id) : ids;
      if (wanted.length > 0) {
        const page = await this.messages
          .find({ ...filter, _id: { $in: wanted } })
          .sort({ _id: -1 })
          .limit(limit - found.length)
          .toArray();
        found.push(...page);
      }
      after = ids.at(-1);
      if (found.length >= limit || rows.length < RECIPIENT_SCAN) {
        return found;
      }
    }
  }

  /** A tenant's messages created before `cutoff`, oldest first, except those in `exceptStates`. */
  listCreatedBefore(
    tenantId: string,
    cutoff: Date,
    exceptStates: readonly MessageState[],
    limit: number,
  ): Promise<Pick<MessageDocument, '_id' | 'tenantId' | 'createdAt'>[]> {
    return this.messages
      .find(
        { tenantId, createdAt: { $lt: cutoff }, state: { $nin: [...exceptStates] } },
        { projection: { _id: 1, tenantId: 1, createdAt: 1 } },
      )
      .sort({ createdAt: 1 })
      .limit(limit)
      .toArray();
  }

  /** Deletes the message record unless it is (again) in one of `exceptStates`; true if this call did. */
  async deleteUnlessIn(messageId: string, exceptStates: readonly MessageState[]): Promise<boolean> {
    const result = await this.messages.deleteOne({ _id: messageId, state: { $nin: [...exceptStates] } });
    return result.deletedCount === 1;
  }

  /** Deletes a message's recipient ledger (after its record is gone). */
  async deleteRecipients(messageId: string): Promise<void> {
    await this.recipients.deleteMany({ messageId });
  }

  recipientsFor(messageId: string, domain?: string): Promise<RecipientDocument[]> {
    const filter = domain === undefined ? { messageId } : { messageId, domain };
    return this.recipients.find(filter).sort({ address: 1 }).toArray();
  }

  findRecipient(messageId: string, address: string): Promise<RecipientDocument | null> {
    return this.recipients.findOne({ _id: recipientId(messageId, address) });
  }

  /**
   * Records one attempt's result; never overwrites a recipient that already has a final state.
   * True when this call recorded it.
   */
  async recordRecipient(messageId: string, address: string, result: RecipientResult): Promise<boolean> {
    const now = new Date();
    const update = await this.recipients.updateOne(
      {
        _id: recipientId(messageId, address),
        state: { $in: ['pending', 'deferred'] },
        ...(result.inFlightAttempt === undefined ? {} : { inFlightAttempt: result.inFlightAttempt }),
      },
      {
        $set: {
          state: result.state,
          lastReply: result.reply,
          updatedAt: now,
          ...(result.nextAttemptAt === undefined ? {} : { nextAttemptAt: result.nextAttemptAt }),
          ...(result.outbox === undefined ? {} : { outbox: result.outbox, outboxAt: now }),
        },
        $unset: { inFlightAttempt: '', ...(result.nextAttemptAt === undefined ? { nextAttemptAt: '' } : {}) },
        $inc: {
          attempts: result.attempted === false ? 0 : 1,
          ambiguousAttempts: result.ambiguous === true ? 1 : 0,
        },
      },
    );
    return update.modifiedCount === 1;
  }

  /**
   * Recipients whose outbox was written before `cutoff` and is still there (left behind by a job),
   * oldest first.
   */
  outboxesLeftBefore(cutoff: Date, batchSize: number): AsyncIterable<RecipientDocument> {
    return this.recipients
      .find({ outboxAt: { $lt: cutoff } })
      .sort({ outboxAt: 1 })
      .batchSize(batchSize);
  }

  /** Marks open recipients as being in delivery attempt `attempt` (see `inFlightAttempt`). */
  async markInFlight(messageId: string, addresses: readonly string[], attempt: number): Promise<void> {
    await this.recipients.updateMany(
      {
        _id: { $in: addresses.map((a) => recipientId(messageId, a)) },
        state: { $in: ['pending', 'deferred'] },
      },
      { $set: { inFlightAttempt: attempt } },
    );
  }

  /**
   * The recipients' recorded effects are done: clears each outbox that is still the one carried
   * out (its event id), never one a later result wrote meanwhile.
   */
  async clearOutbox(messageId: string, done: readonly { address: string; eventId: string }[]): Promise<void> {
    for (const { address, eventId } of done) {
      await this.recipients.updateOne(
        { _id: recipientId(messageId, address), 'outbox.event.id': eventId },
        { $unset: { outbox: '', outboxAt: '' } },
      );
    }
  }

  /** Clears the marks of an attempt that did not happen after all (its MX was at its cap). */
  async clearInFlight(messageId: string, addresses: readonly string[]): Promise<void> {
    await this.recipients.updateMany(
      { _id: { $in: addresses.map((a) => recipientId(messageId, a)) } },
      { $unset: { inFlightAttempt: '' } },
    );
  }

  /**
   * An attempt a dead worker left under way: counted as an attempt with an unknown outcome, and
   * cleared. True when this call cleared it (a concurrent job does not count it twice).
   */
  async recordInterrupted(messageId: string, address: string, attempt: number): Promise<boolean> {
    const update = await this.recipients.updateOne(
      {
        _id: recipientId(messageId, address),
        inFlightAttempt: attempt,
        state: { $in: ['pending', 'deferred'] },
      },
      {
        $set: { state: 'deferred', updatedAt: new Date() },
        $unset: { inFlightAttempt: '' },
        $inc: { attempts: 1, ambiguousAttempts: 1 },
      },
    );
    return update.modifiedCount === 1;
  }

  /** Counts a delivery whose outcome was unknown after the final `.`: a possible duplicate. */
  async countPossibleDuplicate(messageId: string): Promise<void> {
    await this.messages.updateOne({ _id: messageId }, { $inc: { possibleDuplicates: 1 } });
  }

  private async insertIgnoringDuplicates<T extends { _id: string }>(
    collection: Collection<T>,
    docs: T[],
  ): Promise<void> {
    for (const doc of docs) {
      try {
        await collection.insertOne(doc as Parameters<Collection<T>['insertOne']>[0]);
      } catch (error) {
        if (!isDuplicateKeyError(error)) {
          throw error;
        }
      }
    }
  }
}

/** Filters of a message search; every one given must match. */
export interface MessageSearchQuery {
  tenantId: string;
  appId?: string;
  state?: MessageState;
  /** Inclusive bounds on `createdAt`. */
  from?: Date;
  to?: Date;
  /** Header From or envelope MAIL FROM, either case (matched against the lowercase `senders`). */
  sender?: string;
  /** Any envelope recipient, lowercase (matched in the recipient ledger). */
  recipient?: string;
  /** `subjectHash` of the wanted subject (libs/mail), not the subject itself: only the hash is indexed. */
  subjectHash?: string;
  messageId?: string;
  /** The last id of the previous page. */
  before?: string;
}

/** Ledger rows read per step of a recipient search. */
const RECIPIENT_SCAN = 500;

function searchFilter(query: MessageSearchQuery): Filter<MessageDocument> {
  const filter: Filter<MessageDocument> = { tenantId: query.tenantId };
  if (query.appId !== undefined) {
    filter.appId = query.appId;
  }
  if (query.state !== undefined) {
    filter.state = query.state;
  }
  if (query.from !== undefined || query.to !== undefined) {
    filter.createdAt = {
      ...(query.from === undefined ? {} : { $gte: query.from }),
      ...(query.to === undefined ? {} : { $lte: query.to }),
    };
  }
  if (query.sender !== undefined) {
    filter.senders = query.sender.toLowerCase();
  }
  if (query.subjectHash !== undefined) {
    filter.subjectHash = query.subjectHash;
  }
  if (query.messageId !== undefined) {
    filter._id = query.messageId;
  }
  return filter;
}

export function recipientId(messageId: string, address: string): string {
  return `${messageId}/${address.toLowerCase()}`;
}

function recipientDocument(message: MessageDocument, address: string): RecipientDocument {
  const lower = address.toLowerCase();
  return {
    _id: recipientId(message._id, lower),
    messageId: message._id,
    tenantId: message.tenantId,
    address: lower,
    domain: lower.slice(lower.lastIndexOf('@') + 1),
    state: 'pending',
    attempts: 0,
    updatedAt: message.createdAt,
  };
}

export const messageIndexes = [
  { collection: COLLECTIONS.messages, key: { tenantId: 1, createdAt: -1 } },
  { collection: COLLECTIONS.messages, key: { state: 1, updatedAt: 1 } },
  { collection: COLLECTIONS.messages, key: { expiresAt: 1 } },
  { collection: COLLECTIONS.messages, key: { tenantId: 1, state: 1, _id: -1 } },
  { collection: COLLECTIONS.recipients, key: { messageId: 1, domain: 1 } },
  // Outboxes a job left behind (the delivery reconciler). `outboxAt` exists only with an outbox, so
  // on MongoDB the sparse index holds only those; FerretDB 1.24 has no partial indexes.
  { collection: COLLECTIONS.recipients, key: { outboxAt: 1 }, options: { sparse: true } },
  // Message search (GET /v1/messages); no index on `subject`, whose length is unbounded: a subject
  // is searched by its hash. `senders` (multikey) replaces the former headerFrom and
  // envelope.mailFrom indexes, which existing deployments may drop.
  { collection: COLLECTIONS.messages, key: { tenantId: 1, _id: -1 } },
  { collection: COLLECTIONS.messages, key: { tenantId: 1, senders: 1, _id: -1 } },
  { collection: COLLECTIONS.messages, key: { tenantId: 1, subjectHash: 1, _id: -1 } },
  { collection: COLLECTIONS.recipients, key: { tenantId: 1, address: 1, messageId: -1 } },
] as const;
