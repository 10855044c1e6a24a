import type { RelayConfig } from '@ser/config';
import { MessageRepository, TenantConfigRepository } from '@ser/data';
import type { Logger } from '@ser/logger';
import type { MessageStore } from '@ser/mongo';
import { CONFIG, LOGGER, MESSAGE_STORE, ReplicaTurn } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import { MessageTombstoneRepository } from './message-tombstone.repository';
import { IN_PIPELINE_STATES, retentionCutoff } from './retention-policy';

export interface RetentionResult {
  /** Message records this run deleted (with their recipients and bodies). */
  deleted: number;
  /** Removals a previous run left half done, finished. */
  resumed: number;
  /** Tombstones old enough to forget. */
  tombstonesForgotten: number;
}

/** How often one replica looks for messages past retention. */
export const RETENTION_INTERVAL_MS = 3_600_000;
/** Messages per query; a tenant gets at most MAX_BATCHES of them per run, the rest waits a turn. */
const BATCH = 200;
const MAX_BATCHES = 50;
/** Tombstones are forgotten after about 13 months, like the statistics. */
const TOMBSTONE_DAYS = 400;

/**
 * Deletes what is past each tenant's retention: the message record, its recipient ledger and its
 * body, leaving a tombstone. Raw events and statistics stay (reporting rebuilds statistics from
 * events). One replica per interval takes the turn (a Redis lock), but every step is idempotent
 * and every delete conditional, so overlapping runs are safe.
 */
@Injectable()
export class RetentionService extends ReplicaTurn<RetentionResult> {
  constructor(
    @Inject(CONFIG) config: RelayConfig,
    @Inject(LOGGER) logger: Logger,
    @Inject(MESSAGE_STORE) private readonly store: MessageStore,
    private readonly messages: MessageRepository,
    private readonly tenants: TenantConfigRepository,
    private readonly tombstones: MessageTombstoneRepository,
  ) {
    super(config, logger, {
      service: 'admin',
      name: 'retention',
      intervalMs: RETENTION_INTERVAL_MS,
      failureCode: 'ADMIN_RETENTION_FAILED',
      failureText: 'retention run failed',
    });
  }

  /** One run, unless another replica holds the turn for this interval. */
  purgeIfOurTurn(now = Date.now()): Promise<RetentionResult | undefined> {
    return this.runIfOurTurn(new Date(now));
  }

  protected pass(now: Date): Promise<RetentionResult> {
    return this.purge(now.getTime());
  }

  async purge(now = Date.now()): Promise<RetentionResult> {
    const result: RetentionResult = { deleted: 0, resumed: 0, tombstonesForgotten: 0 };
    for (const tombstone of await this.tombstones.listPending(BATCH)) {
      if ((await this.remove(tombstone, now)) !== 'kept') {
        result.resumed += 1;
      }
    }
    const tenants = this.tenants.tenants.find({}, { projection: { _id: 1, retentionDays: 1 } });
    for await (const tenant of tenants) {
      result.deleted += await this.purgeTenant(tenant._id, retentionCutoff(tenant, now), now);
    }
    result.tombstonesForgotten = await this.tombstones.deleteBefore(
      new Date(now - TOMBSTONE_DAYS * 86_400_000),
    );
    if (result.deleted + result.resumed + result.tombstonesForgotten > 0) {
      this.logger.info({ code: 'ADMIN_RETENTION_DELETED', ...result }, 'deleted messages past retention');
    }
    return result;
  }

  private async purgeTenant(tenantId: string, cutoff: Date, now: number): Promise<number> {
    let deleted = 0;
    for (let batch = 0; batch < MAX_BATCHES; batch += 1) {
      const due = await this.messages.listCreatedBefore(tenantId, cutoff, IN_PIPELINE_STATES, BATCH);
      for (const message of due) {
        if ((await this.remove(message, now)) === 'deleted') {
          deleted += 1;
        }
      }
      if (due.length < BATCH) {
        break;
      }
    }
    return deleted;
  }

  /**
   * Tombstone first (so the download answers 410 from the first step on), then the record (only if
   * it has not gone back into the pipeline meanwhile), then what hangs off it. `deleted` only for
   * the call that deleted the record, so concurrent runs count each message once.
   */
  private async remove(
    message: { _id: string; tenantId: string; createdAt: Date },
    now: number,
  ): Promise<'deleted' | 'cleaned' | 'kept'> {
    await this.tombstones.begin(message, new Date(now));
    const deleted = await this.messages.deleteUnlessIn(message._id, IN_PIPELINE_STATES);
    if (!deleted && (await this.messages.findById(message._id)) !== null) {
      // An operator sent it through the pipeline again: it stays until it is final.
      await this.tombstones.abandon(message._id);
      return 'kept';
    }
    await this.messages.deleteRecipients(message._id);
    await this.deleteBody(message._id);
    await this.tombstones.finish(message._id);
    return deleted ? 'deleted' : 'cleaned';
  }

  private async deleteBody(messageId: string): Promise<void> {
    try {
      await this.store.delete(messageId);
    } catch (error) {
      // Another run deleted the same file between our lookup and our delete.
      if (await this.store.exists(messageId)) {
        throw error;
      }
    }
  }
}
