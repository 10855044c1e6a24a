import type { Collection, Db, Filter } from 'mongodb';
import type { SuppressionDocument } from './documents';
import { COLLECTIONS } from './documents';
import { isDuplicateKeyError } from './tenant-config.repository';

/** A suppression to record; `createdAt` defaults to now and is kept when the entry already exists. */
export type SuppressionEntry = Omit<SuppressionDocument, '_id' | 'createdAt'> & { createdAt?: Date };

export function suppressionId(tenantId: string, address: string): string {
  return `${tenantId}/${address.toLowerCase()}`;
}

/**
 * The recipients egress does not send to, per tenant. Written by egress (hard bounces) and the
 * admin service (operators). Only single-document operations, so it works on FerretDB without
 * transactions. An entry whose `expiresAt` has passed no longer counts: reads leave it out and
 * the next `add` replaces it.
 */
export class SuppressionRepository {
  readonly suppressions: Collection<SuppressionDocument>;

  constructor(db: Db) {
    this.suppressions = db.collection(COLLECTIONS.suppressions);
  }

  /**
   * Records a suppression, or refreshes the existing one (`reply`, `messageId`, `expiresAt`;
   * `createdAt` stays). A hard bounce never overrides an operator's `manual` entry that is still
   * in force; a manual entry replaces whatever was there. Returns what is stored afterwards.
   */
  async add(entry: SuppressionEntry): Promise<SuppressionDocument> {
    const address = entry.address.toLowerCase();
    const _id = suppressionId(entry.tenantId, address);
    const now = new Date();
    const filter: Filter<SuppressionDocument> =
      entry.reason === 'manual'
        ? { _id }
        : { _id, $or: [{ reason: { $ne: 'manual' } }, { expiresAt: { $lte: now } }] };
    const set = {
      tenantId: entry.tenantId,
      address,
      reason: entry.reason,
      ...optional('reply', entry.reply),
      ...optional('messageId', entry.messageId),
      ...optional('expiresAt', entry.expiresAt),
    };
    const unset = (['reply', 'messageId', 'expiresAt'] as const).filter(
      (field) => entry[field] === undefined,
    );
    try {
      await this.suppressions.updateOne(
        filter,
        {
          $set: set,
          $setOnInsert: { createdAt: entry.createdAt ?? now },
          ...(unset.length > 0 ? { $unset: Object.fromEntries(unset.map((field) => [field, ''])) } : {}),
        },
        { upsert: true },
      );
    } catch (error) {
      // The upsert found no entry it may replace and could not insert: a manual one is in force.
      if (!isDuplicateKeyError(error)) {
        throw error;
      }
    }
    const stored = await this.suppressions.findOne({ _id });
    if (stored === null) {
      throw new Error(`suppression ${_id} vanished right after it was written`);
    }
    return stored;
  }

  /** Deletes the entry (in force or expired); false when there was none. */
  async remove(tenantId: string, address: string): Promise<boolean> {
    const result = await this.suppressions.deleteOne({ _id: suppressionId(tenantId, address), tenantId });
    return result.deletedCount === 1;
  }

  /** The entry in force for this address, or null. */
  find(tenantId: string, address: string, now = new Date()): Promise<SuppressionDocument | null> {
    return this.suppressions.findOne({ _id: suppressionId(tenantId, address), tenantId, ...inForce(now) });
  }

  /** The entries in force among `addresses`, by lowercase address: one query for a whole recipient list. */
  async activeAmong(
    tenantId: string,
    addresses: readonly string[],
    now = new Date(),
  ): Promise<Map<string, SuppressionDocument>> {
    const found = new Map<string, SuppressionDocument>();
    if (addresses.length === 0) {
      return found;
    }
    const ids = [...new Set(addresses.map((address) => suppressionId(tenantId, address)))];
    const entries = await this.suppressions.find({ _id: { $in: ids }, tenantId, ...inForce(now) }).toArray();
    for (const entry of entries) {
      found.set(entry.address, entry);
    }
    return found;
  }

  /** A tenant's entries in force, by address, after the address `after` (the previous page's last). */
  list(
    tenantId: string,
    page: { limit: number; after?: string },
    now = new Date(),
  ): Promise<SuppressionDocument[]> {
    const filter: Filter<SuppressionDocument> = { tenantId, ...inForce(now) };
    if (page.after !== undefined) {
      filter.address = { $gt: page.after.toLowerCase() };
    }
    return this.suppressions.find(filter).sort({ address: 1 }).limit(page.limit).toArray();
  }

  /** Deletes the entries that expired before `now`; housekeeping, reads ignore them anyway. */
  async purgeExpired(now = new Date()): Promise<number> {
    const result = await this.suppressions.deleteMany({ expiresAt: { $lte: now } });
    return result.deletedCount;
  }
}

function inForce(now: Date): Filter<SuppressionDocument> {
  return { $or: [{ expiresAt: { $exists: false } }, { expiresAt: { $gt: now } }] };
}

function optional<K extends string, V>(key: K, value: V | undefined): Partial<Record<K, V>> {
  return value === undefined ? {} : ({ [key]: value } as Record<K, V>);
}

/** `_id` is `<tenantId>/<address>`, which makes the pair unique; the others serve listing and expiry. */
export const suppressionIndexes = [
  { collection: COLLECTIONS.suppressions, key: { tenantId: 1, address: 1 } },
  { collection: COLLECTIONS.suppressions, key: { expiresAt: 1 } },
] as const;
