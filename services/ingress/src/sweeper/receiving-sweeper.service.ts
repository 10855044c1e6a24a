import type { RelayConfig } from '@ser/config';
import { MessageRepository } from '@ser/data';
import type { Logger } from '@ser/logger';
import { MESSAGE_BUCKET } from '@ser/mongo';
import type { MessageStore, MongoConnection } from '@ser/mongo';
import { CONFIG, LOGGER, MESSAGE_STORE, MONGO, ReplicaTurn } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { ObjectId } from 'mongodb';
import { INGRESS_REDIS } from '../ingress.tokens';

export interface SweepResult {
  records: number;
  bodies: number;
  chunkSets: number;
}

const BATCH = 500;

/**
 * Removes what an interrupted submission left behind (invariant 1): records still `receiving`,
 * body files without a record, and chunks without a file (an upload cut off by a crash). Only
 * things older than SER_INGRESS_SWEEP_GRACE_MS are touched, so a submission in progress is safe;
 * every delete is conditional, so replicas may overlap, and a Redis lock makes them take turns.
 */
@Injectable()
export class ReceivingSweeperService extends ReplicaTurn<SweepResult> {
  constructor(
    @Inject(CONFIG) config: RelayConfig,
    @Inject(LOGGER) logger: Logger,
    @Inject(MONGO) private readonly mongo: MongoConnection,
    @Inject(MESSAGE_STORE) private readonly store: MessageStore,
    @Inject(INGRESS_REDIS) redis: Redis,
    private readonly messages: MessageRepository,
  ) {
    super(config, logger, {
      service: 'ingress',
      name: 'sweep',
      intervalMs: config.SER_INGRESS_SWEEP_INTERVAL_MS,
      failureCode: 'INGRESS_SWEEP_FAILED',
      failureText: 'sweep failed',
      redis,
    });
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

  private async sweepRecords(cutoff: Date): Promise<number> {
    const stale = await this.messages.messages
      .find({ state: 'receiving', createdAt: { $lt: cutoff } }, { projection: { _id: 1 }, limit: BATCH })
      .toArray();
    let removed = 0;
    for (const { _id } of stale) {
      const deleted = await this.messages.messages.deleteOne({ _id, state: 'receiving' });
      if (deleted.deletedCount === 1) {
        await this.messages.recipients.deleteMany({ messageId: _id });
        await this.store.delete(_id);
        removed += 1;
      }
    }
    return removed;
  }

  private async sweepBodies(cutoff: Date): Promise<number> {
    const files = await this.mongo.db
      .collection<{ filename: string }>(`${MESSAGE_BUCKET}.files`)
      .find({ uploadDate: { $lt: cutoff } }, { projection: { filename: 1 }, sort: { uploadDate: 1 } })
      .limit(BATCH)
      .toArray();
    const names = files.map((f) => f.filename);
    const owned = await this.messages.messages
      .find({ _id: { $in: names } }, { projection: { _id: 1 } })
      .toArray();
    const ownedIds = new Set(owned.map((m) => m._id));
    const orphans = names.filter((name) => !ownedIds.has(name));
    for (const name of orphans) {
      await this.store.delete(name);
    }
    return orphans.length;
  }

  private async sweepChunks(cutoff: Date): Promise<number> {
    const chunks = this.mongo.db.collection<{ files_id: ObjectId; n: number }>(`${MESSAGE_BUCKET}.chunks`);
    // A file id is an ObjectId, whose first bytes are its creation time: chunks of uploads that
    // started before the cutoff.
    const firstChunks = await chunks
      .find({ n: 0, files_id: { $lt: ObjectId.createFromTime(Math.floor(cutoff.getTime() / 1000)) } })
      .project<{ files_id: ObjectId }>({ files_id: 1 })
      .limit(BATCH)
      .toArray();
    const ids = firstChunks.map((c) => c.files_id);
    const files = await this.mongo.db
      .collection(`${MESSAGE_BUCKET}.files`)
      .find({ _id: { $in: ids } }, { projection: { _id: 1 } })
      .toArray();
    const present = new Set(files.map((f) => String(f._id)));
    const orphans = ids.filter((id) => !present.has(String(id)));
    if (orphans.length > 0) {
      await chunks.deleteMany({ files_id: { $in: orphans } });
    }
    return orphans.length;
  }
}
