import type { Collection, Db, Filter } from 'mongodb';
import { COLLECTIONS } from './documents';
import { newId } from './ids';

/** One operator decision (release, retry, delete...): who, what, on which object, when. */
export interface AuditDocument {
  _id: string;
  at: Date;
  /** Who decided: `operator:bootstrap` for the bootstrap token, `token:<tokenId>` for an API token. */
  actor: string;
  /** Dotted `<object>.<verb>`, e.g. `message.release`. */
  action: string;
  tenantId?: string;
  /** The client address of the HTTP request that made the decision (the peer, or proxies' last hop). */
  address?: string;
  target: { type: string; id: string };
  details?: Record<string, unknown>;
}

export type AuditEntry = Omit<AuditDocument, '_id' | 'at'> & { at?: Date };

export interface AuditFilter {
  tenantId?: string;
  /** Inclusive bounds on `at`. */
  from?: Date;
  to?: Date;
}

/** The audit log: append-only, written by the admin service, never updated. */
export class AuditRepository {
  readonly audit: Collection<AuditDocument>;

  constructor(db: Db) {
    this.audit = db.collection(COLLECTIONS.audit);
  }

  async record(entry: AuditEntry): Promise<AuditDocument> {
    const { at, ...rest } = entry;
    const document: AuditDocument = { _id: newId('aud'), at: at ?? new Date(), ...rest };
    await this.audit.insertOne(document);
    return document;
  }

  /** Forgets the entries older than `cutoff` (retention); how many. */
  async deleteBefore(cutoff: Date): Promise<number> {
    return (await this.audit.deleteMany({ at: { $lt: cutoff } })).deletedCount;
  }

  /** Newest first, at most `limit` entries. */
  list(filter: AuditFilter, limit: number): Promise<AuditDocument[]> {
    const query: Filter<AuditDocument> = {};
    if (filter.tenantId !== undefined) {
      query.tenantId = filter.tenantId;
    }
    if (filter.from !== undefined || filter.to !== undefined) {
      query.at = {
        ...(filter.from === undefined ? {} : { $gte: filter.from }),
        ...(filter.to === undefined ? {} : { $lte: filter.to }),
      };
    }
    return this.audit.find(query).sort({ at: -1, _id: -1 }).limit(limit).toArray();
  }
}

export const auditIndexes = [
  { collection: COLLECTIONS.audit, key: { at: -1 } },
  { collection: COLLECTIONS.audit, key: { tenantId: 1, at: -1 } },
] as const;
