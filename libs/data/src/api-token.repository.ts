import type { Collection, Db, Filter } from 'mongodb';
import { COLLECTIONS } from './documents';

/** What a token may do; `operator` spans every tenant, the others exactly one. */
export type ApiTokenRole = 'operator' | 'tenant-admin' | 'tenant-viewer';

/** A bearer token of the admin API. Only the SHA-256 of its secret is stored. */
export interface ApiTokenDocument {
  _id: string;
  name: string;
  role: ApiTokenRole;
  /** The one tenant of a `tenant-admin` or `tenant-viewer` token; absent for operators. */
  tenantId?: string;
  secretHash: string;
  createdAt: Date;
  /** The actor that created it (`operator:bootstrap`, `token:<id>`). */
  createdBy: string;
  revokedAt?: Date;
  revokedBy?: string;
  lastUsedAt?: Date;
}

export interface ApiTokenFilter {
  tenantId?: string;
  /** The last id of the previous page. */
  after?: string;
}

/** API tokens, written by the admin service alone. Revocation is read on every request. */
export class ApiTokenRepository {
  readonly tokens: Collection<ApiTokenDocument>;

  constructor(db: Db) {
    this.tokens = db.collection(COLLECTIONS.apiTokens);
  }

  async create(token: ApiTokenDocument): Promise<void> {
    await this.tokens.insertOne(token);
  }

  /** The token unless it is unknown or revoked. */
  findActive(tokenId: string): Promise<ApiTokenDocument | null> {
    return this.tokens.findOne({ _id: tokenId, revokedAt: { $exists: false } });
  }

  findById(tokenId: string): Promise<ApiTokenDocument | null> {
    return this.tokens.findOne({ _id: tokenId });
  }

  /** Oldest first by id, `limit` at most; `tenantId` narrows to one tenant's tokens. */
  list(filter: ApiTokenFilter, limit: number): Promise<ApiTokenDocument[]> {
    const query: Filter<ApiTokenDocument> = {};
    if (filter.tenantId !== undefined) {
      query.tenantId = filter.tenantId;
    }
    if (filter.after !== undefined) {
      query._id = { $gt: filter.after };
    }
    return this.tokens.find(query).sort({ _id: 1 }).limit(limit).toArray();
  }

  /** Revokes an active token; null when it is unknown or was already revoked. */
  async revoke(tokenId: string, by: string, at = new Date()): Promise<ApiTokenDocument | null> {
    return this.tokens.findOneAndUpdate(
      { _id: tokenId, revokedAt: { $exists: false } },
      { $set: { revokedAt: at, revokedBy: by } },
      { returnDocument: 'after' },
    );
  }

  /** Records use, at most once per `everyMs` per token so busy tokens do not write on every call. */
  async touch(tokenId: string, at = new Date(), everyMs = 60_000): Promise<void> {
    await this.tokens.updateOne(
      {
        _id: tokenId,
        $or: [{ lastUsedAt: { $exists: false } }, { lastUsedAt: { $lt: new Date(at.getTime() - everyMs) } }],
      },
      { $set: { lastUsedAt: at } },
    );
  }
}

export const apiTokenIndexes = [{ collection: COLLECTIONS.apiTokens, key: { tenantId: 1, _id: 1 } }];
