import type { RelayConfig } from '@ser/config';
import { AuditRepository, MessageRepository, TenantConfigRepository } from '@ser/data';
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
  /** Audit entries older than SER_ADMIN_AUDIT_RETENTION_DAYS. */
  auditEntriesDeleted: number;
  /** Tenants that still had messages past retention when the run's time was up. */
  unfinishedTenants: number;
}

/** How one run divides its work: a tenant gets `batches` of `batch` messages per round. */
export interface RetentionLimits {
  batch: number;
  batches: number;
  /** Rounds go on while some tenant has more, until this much time has passed. */
  runBudgetMs: number;
}

/** How often one replica looks for messages past retention. */
export const RETENTION_INTERVAL_MS = 3_600_000;
/**
 * 200 messages per query; 50 queries per tenant and round, so one tenant's backlog cannot hold up
 * the others; rounds until half the interval is used, so a tenant with more than a round's worth a
 * day (10,000) is not left behind for good.
 */
const DEFAULT_LIMITS: RetentionLimits = { batch: 200, batches: 50, runBudgetMs: RETENTION_INTERVAL_MS / 2 };
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
  /** Tests use small batches; production keeps the defaults. */
  limits: RetentionLimits = DEFAULT_LIMITS;

  constructor(
    @Inject(CONFIG) config: RelayConfig,
    @Inject(LOGGER) logger: Logger,
    @Inject(MESSAGE_STORE) private readonly store: MessageStore,
    private readonly messages: MessageRepository,
    private readonly tenants: TenantConfigRepository,
    private readonly tombstones: MessageTombstoneRepository,
    private readonly audit: AuditRepository,
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
    const started = Date.now();
    const result: RetentionResult = {
      deleted: 0,
      resumed: 0,
      tombstonesForgotten: 0,
      auditEntriesDeleted: 0,
      unfinishedTenants: 0,
    };
    for (const tombstone of await this.tombstones.listPending(this.limits.batch)) {
      if ((await this.remove(tombstone, now)) !== 'kept') {
        result.resumed += 1;
      }
    }
    let pending = await this.tenants.tenants.find({}, { projection: { _id: 1, retentionDays: 1 } }).toArray();
    while (pending.length > 0) {
      const more: typeof pending = [];
      for (const tenant of pending) {
        const round = await this.purgeTenant(tenant._id, retentionCutoff(tenant, now), now);
        result.deleted += round.deleted;
        if (round.more) {
          more.push(tenant);
        }
      }
      pending = more;
      if (Date.now() - started >= this.limits.runBudgetMs) {
        break;
      }
    }
    result.unfinishedTenants = pending.length;
    result.tombstonesForgotten = await this.tombstones.deleteBefore(
      new Date(now - TOMBSTONE_DAYS * 86_400_000),
    );
    result.auditEntriesDeleted = await this.audit.deleteBefore(
      new Date(now - this.config.SER_ADMIN_AUDIT_RETENTION_DAYS * 86_400_000),
    );
    if (result.deleted + result.resumed + result.tombstonesForgotten + result.auditEntriesDeleted > 0) {
      this.logger.info({ code: 'ADMIN_RETENTION_DELETED', ...result }, 'deleted messages past retention');
    }
    return result;
  }

  /** One round for a tenant: up to `batches` batches; `more` when its last batch was full. */
  private async purgeTenant(
    tenantId: string,
    cutoff: Date,
    now: number,
  ): Promise<{ deleted: number; more: boolean }> {
    const { batch, batches } = this.limits;
    let deleted = 0;
    for (let n = 0; n < batches; n += 1) {
      const due = await this.messages.listCreatedBefore(tenantId, cutoff, IN_PIPELINE_STATES, batch);
      let removed = 0;
      for (const message of due) {
        const outcome = await this.remove(message, now);
        if (outcome === 'deleted') {
          deleted += 1;
        }
        if (outcome !== 'kept') {
          removed += 1;
        }
      }
      // A full batch of which nothing could be removed (all sent back into the pipeline) would
      // come back the same: stop there rather than loop on it.
      if (due.length < batch || removed === 0) {
        return { deleted, more: false };
      }
    }
    return { deleted, more: true };
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
