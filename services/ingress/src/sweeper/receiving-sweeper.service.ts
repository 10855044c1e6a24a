import type { RelayConfig } from '@ser/config';
import { MessageRepository } from '@ser/data';
import type { Logger } from '@ser/logger';
import { MESSAGE_BUCKET } from '@ser/mongo';
import type { MessageStore, MongoConnection } from '@ser/mongo';
import { CONFIG, LOGGER, MESSAGE_STORE, MONGO, ReplicaTurn } from '@ser/runtime';
import { Inject, Injectable, Optional } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { ObjectId } from 'mongodb';
import { INGRESS_REDIS } from '../ingress.tokens';

export interface SweepResult {
  records: number;
  bodies: number;
  chunkSets: number;
}

/** How much one pass reads: `batch` documents per query, at most `pages` queries per kind. */
export interface SweepLimits {
  batch: number;
  pages: number;
}

/** Optional provider of SweepLimits (tests use small ones); the defaults suit production. */
export const SWEEP_LIMITS = Symbol('SWEEP_LIMITS');

const DEFAULT_LIMITS: SweepLimits = { batch: 500, pages: 20 };

/**
 * Removes what an interrupted submission left behind (invariant 1): records still `receiving`,
 * body files without a record, and chunks without a file (an upload cut off by a crash). Only
 * things older than SER_INGRESS_SWEEP_GRACE_MS are touched, so a submission in progress is safe;
 * every delete is conditional, so replicas may overlap, and a Redis lock makes them take turns.
 *
 * Bodies and chunk sets are read in pages by `_id` (indexed, and time-ordered: an ObjectId starts
 * with its creation time), from where this replica's previous pass stopped, at most
 * `pages * batch` of each per pass. Nearly all of them belong to messages kept for 30 days, so
 * reading only the oldest page would never reach orphans behind it, and reading all of them (millions)
 * every minute would cost too much. The position is kept in memory: losing it (a restart) or
 * replicas each keeping their own only means some pages are read again; the walk starts over once
 * it has reached the end. A full walk takes (files / (pages * batch)) passes: 20 minutes for 200,000
 * bodies at the default interval.
 */
@Injectable()
export class ReceivingSweeperService extends ReplicaTurn<SweepResult> {
  private readonly limits: SweepLimits;
  /** The last body file and chunk set looked at by this replica's previous pass. */
  private bodiesAfter: ObjectId | undefined;
  private chunksAfter: ObjectId | undefined;

  constructor(
    @Inject(CONFIG) config: RelayConfig,
    @Inject(LOGGER) logger: Logger,
    @Inject(MONGO) private readonly mongo: MongoConnection,
    @Inject(MESSAGE_STORE) private readonly store: MessageStore,
    @Inject(INGRESS_REDIS) redis: Redis,
    private readonly messages: MessageRepository,
    @Optional() @Inject(SWEEP_LIMITS) limits?: Partial<SweepLimits>,
  ) {
    super(config, logger, {
      service: 'ingress',
      name: 'sweep',
      intervalMs: config.SER_INGRESS_SWEEP_INTERVAL_MS,
      failureCode: 'INGRESS_SWEEP_FAILED',
      failureText: 'sweep failed',
      redis,
    });
    this.limits = { ...DEFAULT_LIMITS, ...limits };
  }

  /** One sweep, unless another replica holds the turn for this interval. */
  sweepIfOurTurn(): Promise<SweepResult | undefined> {
    return this.runIfOurTurn();
  }

  protected pass(now: Date): Promise<SweepResult> {
    return this.sweep(now.getTime());
  }

  async sweep(now = Date.now()): Promise<SweepResult> {
    const cutoff = new Date(now - this.config.SER_INGRESS_SWEEP_GRACE_MS);
    const result = {
      records: await this.sweepRecords(cutoff),
      bodies: await this.sweepBodies(cutoff),
      chunkSets: await this.sweepChunks(cutoff),
    };
    if (result.records + result.bodies + result.chunkSets > 0) {
      this.logger.info(
        { code: 'INGRESS_SWEEP_REMOVED', ...result },
        'removed what interrupted submissions left',
      );
    }
    return result;
  }

  /**
   * Stale `receiving` records, a batch at a time until none are left (at most `pages` batches).
   * Deleted in bulk, conditionally: a record that moved on meanwhile (a commit that landed late)
   * stays, with its body and ledger.
   */
  private async sweepRecords(cutoff: Date): Promise<number> {
    let removed = 0;
    for (let page = 0; page < this.limits.pages; page += 1) {
      const stale = await this.messages.messages
        .find(
          { state: 'receiving', createdAt: { $lt: cutoff } },
          { projection: { _id: 1 }, limit: this.limits.batch },
        )
        .toArray();
      const ids = stale.map((m) => m._id);
      if (ids.length > 0) {
        await this.messages.messages.deleteMany({ _id: { $in: ids }, state: 'receiving' });
        const kept = await this.messages.messages
          .find({ _id: { $in: ids } }, { projection: { _id: 1 } })
          .toArray();
        const keptIds = new Set(kept.map((m) => m._id));
        const gone = ids.filter((id) => !keptIds.has(id));
        await this.messages.recipients.deleteMany({ messageId: { $in: gone } });
        await this.deleteBodies(gone);
        removed += gone.length;
      }
      if (ids.length < this.limits.batch) {
        break;
      }
    }
    return removed;
  }

  private async sweepBodies(cutoff: Date): Promise<number> {
    const files = this.mongo.db.collection<{ _id: ObjectId; filename: string }>(`${MESSAGE_BUCKET}.files`);
    let removed = 0;
    for (let page = 0; page < this.limits.pages; page += 1) {
      const after = this.bodiesAfter;
      const batch = await files
        .find(
          { uploadDate: { $lt: cutoff }, ...(after === undefined ? {} : { _id: { $gt: after } }) },
          { projection: { filename: 1 }, sort: { _id: 1 }, limit: this.limits.batch },
        )
        .toArray();
      removed += await this.removeOrphanBodies(batch.map((f) => f.filename));
      this.bodiesAfter = batch.length < this.limits.batch ? undefined : batch.at(-1)?._id;
      if (this.bodiesAfter === undefined) {
        break; // the end: the next pass starts over
      }
    }
    return removed;
  }

  private async removeOrphanBodies(names: string[]): Promise<number> {
    const owned = await this.messages.messages
      .find({ _id: { $in: names } }, { projection: { _id: 1 } })
      .toArray();
    const ownedIds = new Set(owned.map((m) => m._id));
    const orphans = names.filter((name) => !ownedIds.has(name));
    await this.deleteBodies(orphans);
    return orphans.length;
  }

  /** The bodies stored under these message ids; one query to find which exist. */
  private async deleteBodies(messageIds: string[]): Promise<void> {
    if (messageIds.length === 0) {
      return;
    }
    const stored = await this.mongo.db
      .collection<{ filename: string }>(`${MESSAGE_BUCKET}.files`)
      .distinct('filename', { filename: { $in: messageIds } });
    for (const name of stored) {
      await this.store.delete(name);
    }
  }

  private async sweepChunks(cutoff: Date): Promise<number> {
    const chunks = this.mongo.db.collection<{ files_id: ObjectId; n: number }>(`${MESSAGE_BUCKET}.chunks`);
    // A file id is an ObjectId, whose first bytes are its creation time: chunks of uploads that
    // started before the cutoff.
    const before = ObjectId.createFromTime(Math.floor(cutoff.getTime() / 1000));
    let removed = 0;
    for (let page = 0; page < this.limits.pages; page += 1) {
      const after = this.chunksAfter;
      const firstChunks = await chunks
        .find({ n: 0, files_id: { $lt: before, ...(after === undefined ? {} : { $gt: after }) } })
        .sort({ files_id: 1 })
        .project<{ files_id: ObjectId }>({ files_id: 1 })
        .limit(this.limits.batch)
        .toArray();
      removed += await this.removeOrphanChunks(firstChunks.map((c) => c.files_id));
      this.chunksAfter = firstChunks.length < this.limits.batch ? undefined : firstChunks.at(-1)?.files_id;
      if (this.chunksAfter === undefined) {
        break; // the end: the next pass starts over
      }
    }
    return removed;
  }

  private async removeOrphanChunks(ids: ObjectId[]): Promise<number> {
    const files = await this.mongo.db
      .collection(`${MESSAGE_BUCKET}.files`)
      .find({ _id: { $in: ids } }, { projection: { _id: 1 } })
      .toArray();
    const present = new Set(files.map((f) => String(f._id)));
    const orphans = ids.filter((id) => !present.has(String(id)));
    if (orphans.length > 0) {
      await this.mongo.db
        .collection<{ files_id: ObjectId }>(`${MESSAGE_BUCKET}.chunks`)
        .deleteMany({ files_id: { $in: orphans } });
    }
    return orphans.length;
  }
}
