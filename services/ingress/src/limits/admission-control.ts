import type { RelayConfig } from '@ser/config';
import type { Logger } from '@ser/logger';
import type { QueueBus } from '@ser/queue';
import { CONFIG, LOGGER, QUEUE_BUS } from '@ser/runtime';
import type { FactoryProvider } from '@nestjs/common';

/** Why a transaction was not admitted: the reason label of the reply, the metric and the event. */
export type AdmissionRefusal = 'scan_backlog' | 'concurrent_data';

export interface AdmissionOptions {
  /** Refuse new transactions while more scan jobs than this wait. */
  maxScanBacklog: number;
  /** Messages this process may receive and store at once. */
  maxConcurrentData: number;
  /** Least time between two reads of the backlog (ms). */
  refreshIntervalMs: number;
  /** A read that takes longer is given up, and the backlog counts as unknown (ms). */
  readTimeoutMs: number;
  /** A backlog read longer ago than this is not trusted any more (ms). */
  maxAgeMs: number;
}

/** One message being received and stored; `release` is idempotent. */
export interface DataPermit {
  release(): void;
}

/** Reads the number of waiting scan jobs (BullMQ `getWaitingCount`). */
export type BacklogReader = () => Promise<number>;

const LOG_EVERY_MS = 10_000;

/**
 * Admission control for one ingress process (issue 9): under a load the pipeline cannot absorb,
 * new transactions get a quick `451 4.3.2` instead of an upload that times out against a slow
 * database, and the scan backlog stays bounded.
 *
 * Two bounds: the scan backlog, read from Redis at most once per `refreshIntervalMs` and never on
 * the path of a command (a check uses the last value read and may start the next read without
 * waiting for it); and the messages in DATA in this process, counted in memory. When the backlog
 * cannot be read (Redis down, slow) or its last reading is too old, it does not refuse anything:
 * the DATA path fails properly on its own (`451 4.3.0`), and an idle replica's first transaction
 * is not refused on an old reading.
 */
export class AdmissionControl {
  private backlog: { value: number; at: number } | undefined;
  private readStartedAt = Number.NEGATIVE_INFINITY;
  private reading = false;
  private unreadable = false;
  private inData = 0;
  private readonly refusals = new Map<AdmissionRefusal, { loggedAt: number; since: number }>();

  constructor(
    private readonly options: AdmissionOptions,
    private readonly readBacklog: BacklogReader,
    private readonly logger: Logger,
    /** Current time in ms; injectable for tests. */
    private readonly now: () => number = Date.now,
  ) {
    for (const name of ['maxScanBacklog', 'maxConcurrentData'] as const) {
      if (!Number.isSafeInteger(options[name]) || options[name] < 1) {
        throw new RangeError(`AdmissionControl: ${name} must be a positive integer`);
      }
    }
  }

  /** Messages in DATA in this process now. */
  get dataInProgress(): number {
    return this.inData;
  }

  /** At MAIL FROM: whether a new transaction may start, or why not. Never waits. */
  checkTransaction(): AdmissionRefusal | undefined {
    const refusal = this.backlogFull()
      ? 'scan_backlog'
      : this.inData >= this.options.maxConcurrentData
        ? 'concurrent_data'
        : undefined;
    if (refusal !== undefined) {
      this.noteRefusal(refusal);
    }
    return refusal;
  }

  /**
   * At DATA: takes a slot for one message, or returns undefined when all are taken (clients that
   * passed MAIL FROM together may exceed the bound; the slot is the hard limit). The caller must
   * release the permit however the message ends.
   */
  startData(): DataPermit | undefined {
    if (this.inData >= this.options.maxConcurrentData) {
      this.noteRefusal('concurrent_data');
      return undefined;
    }
    this.inData += 1;
    let released = false;
    return {
      release: () => {
        if (!released) {
          released = true;
          this.inData -= 1;
        }
      },
    };
  }

  private backlogFull(): boolean {
    const now = this.now();
    if (!this.reading && now - this.readStartedAt >= this.options.refreshIntervalMs) {
      this.refresh(now);
    }
    const known = this.backlog !== undefined && now - this.backlog.at <= this.options.maxAgeMs;
    return known && this.backlog !== undefined && this.backlog.value > this.options.maxScanBacklog;
  }

  private refresh(now: number): void {
    this.reading = true;
    this.readStartedAt = now;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error('timed out')), this.options.readTimeoutMs);
      timer.unref();
    });
    void Promise.race([this.readBacklog(), timeout])
      .then(
        (value) => {
          this.backlog = { value, at: this.now() };
          this.unreadable = false;
        },
        (error: unknown) => {
          this.backlog = undefined;
          if (!this.unreadable) {
            this.unreadable = true;
            this.logger.warn({ code: 'INGRESS_BACKLOG_UNREADABLE', err: error }, 'scan backlog unreadable');
          }
        },
      )
      .finally(() => {
        clearTimeout(timer);
        this.reading = false;
      });
  }

  /** One line per reason at most every 10 s, with the refusals since the previous line. */
  private noteRefusal(reason: AdmissionRefusal): void {
    const now = this.now();
    const state = this.refusals.get(reason) ?? { loggedAt: Number.NEGATIVE_INFINITY, since: 0 };
    state.since += 1;
    if (now - state.loggedAt >= LOG_EVERY_MS) {
      this.logger.warn(
        {
          code: 'INGRESS_ADMISSION_REFUSED',
          reason,
          refusals: state.since,
          ...(reason === 'scan_backlog'
            ? { backlog: this.backlog?.value, limit: this.options.maxScanBacklog }
            : { dataInProgress: this.inData, limit: this.options.maxConcurrentData }),
        },
        'transactions refused: overloaded',
      );
      state.loggedAt = now;
      state.since = 0;
    }
    this.refusals.set(reason, state);
  }
}

/** The process's admission control, reading the backlog through the queue bus's producer connection. */
export const admissionControlProvider: FactoryProvider<AdmissionControl> = {
  provide: AdmissionControl,
  useFactory: (config: RelayConfig, bus: QueueBus, logger: Logger) =>
    new AdmissionControl(
      {
        maxScanBacklog: config.SER_INGRESS_MAX_SCAN_BACKLOG,
        maxConcurrentData: config.SER_INGRESS_MAX_CONCURRENT_DATA,
        refreshIntervalMs: 1000,
        readTimeoutMs: 1000,
        maxAgeMs: 5000,
      },
      // BullMQ's waiting count (its wait and paused lists): jobs no scanner has taken yet.
      () => bus.queue('scan').getWaitingCount(),
      logger,
    ),
  inject: [CONFIG, QUEUE_BUS, LOGGER],
};
