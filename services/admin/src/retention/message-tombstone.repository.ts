import { isDuplicateKeyError } from '@ser/data';
import type { Collection, Db } from 'mongodb';

/**
 * What is left of a message deleted by retention, so that its sample download answers `410 Gone`
 * rather than `404`. `pending` is set while its recipients and body are being removed: a run that
 * finds it set (the previous one died) finishes the removal.
 */
export interface MessageTombstoneDocument {
  /** The message id. */
  _id: string;
  tenantId: string;
  /** When the message was created. */
  createdAt: Date;
  deletedAt: Date;
  pending?: true;
}

export const MESSAGE_TOMBSTONES = 'message_tombstones';

export const messageTombstoneIndexes = [
  { collection: MESSAGE_TOMBSTONES, key: { pending: 1 } },
  { collection: MESSAGE_TOMBSTONES, key: { deletedAt: 1 } },
] as const;

/** Tombstones of messages deleted by retention; written and read by the admin service alone. */
export class MessageTombstoneRepository {
  readonly tombstones: Collection<MessageTombstoneDocument>;

  constructor(db: Db) {
    this.tombstones = db.collection(MESSAGE_TOMBSTONES);
  }

  /** Marks the removal of a message as begun; a second call (another replica) changes nothing. */
  async begin(message: { _id: string; tenantId: string; createdAt: Date }, at: Date): Promise<void> {
    try {
      await this.tombstones.updateOne(
        { _id: message._id },
        {
          $setOnInsert: {
            tenantId: message.tenantId,
            createdAt: message.createdAt,
            deletedAt: at,
            pending: true,
          },
        },
        { upsert: true },
      );
    } catch (error) {
      // Two concurrent upserts of the same id: the other one inserted it.
      if (!isDuplicateKeyError(error)) {
        throw error;
      }
    }
  }

  async finish(messageId: string): Promise<void> {
    await this.tombstones.updateOne({ _id: messageId }, { $unset: { pending: '' } });
  }

  /** Drops a tombstone whose message turned out to stay (it went back into the pipeline). */
  async abandon(messageId: string): Promise<void> {
    await this.tombstones.deleteOne({ _id: messageId, pending: true });
  }

  listPending(limit: number): Promise<MessageTombstoneDocument[]> {
    return this.tombstones.find({ pending: true }).limit(limit).toArray();
  }

  async exists(messageId: string): Promise<boolean> {
    return (await this.tombstones.findOne({ _id: messageId }, { projection: { _id: 1 } })) !== null;
  }

  /** The tenant of a message deleted by retention, while its tombstone is kept. */
  async tenantOf(messageId: string): Promise<string | undefined> {
    return (await this.tombstones.findOne({ _id: messageId }, { projection: { tenantId: 1 } }))?.tenantId;
  }

  /** Forgets tombstones older than `cutoff` (the download then answers 404); returns how many. */
  async deleteBefore(cutoff: Date): Promise<number> {
    const result = await this.tombstones.deleteMany({
      deletedAt: { $lt: cutoff },
      pending: { $exists: false },
    });
    return result.deletedCount;
  }
}
