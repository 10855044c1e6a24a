import type { RelayEvent } from '@ser/contracts';
import type { Collection, Db } from 'mongodb';
import type { EventDocument } from './documents';
import { COLLECTIONS } from './documents';
import { isDuplicateKeyError } from './tenant-config.repository';

/** Raw events, unique by id: a redelivered event is stored once. Written by reporting only. */
export class EventRepository {
  readonly events: Collection<EventDocument>;

  constructor(db: Db) {
    this.events = db.collection(COLLECTIONS.events);
  }

  /** Returns false when the event was already recorded. */
  async record(event: RelayEvent): Promise<boolean> {
    const { id, at, ...rest } = event;
    try {
      await this.events.insertOne({ ...rest, _id: id, at: new Date(at) });
      return true;
    } catch (error) {
      if (isDuplicateKeyError(error)) {
        return false;
      }
      throw error;
    }
  }

  /**
   * Deletes up to `limit` events that happened before `before`, oldest first; returns how many.
   * Called again until it returns less than `limit`.
   */
  async purgeBefore(before: Date, limit: number): Promise<number> {
    const due = await this.events
      .find({ at: { $lt: before } }, { projection: { _id: 1 } })
      .sort({ at: 1 })
      .limit(limit)
      .toArray();
    if (due.length === 0) {
      return 0;
    }
    const res = await this.events.deleteMany({ _id: { $in: due.map((d) => d._id) }, at: { $lt: before } });
    return res.deletedCount;
  }

  /** A message's timeline, oldest first; scoped by tenant. */
  timeline(tenantId: string, messageId: string): Promise<EventDocument[]> {
    return this.events.find({ tenantId, messageId }).sort({ at: 1, _id: 1 }).toArray();
  }
}

export const eventIndexes = [
  { collection: COLLECTIONS.events, key: { tenantId: 1, messageId: 1, at: 1 } },
  { collection: COLLECTIONS.events, key: { tenantId: 1, at: -1 } },
  // Retention purge, across tenants.
  { collection: COLLECTIONS.events, key: { at: 1 } },
] as const;
