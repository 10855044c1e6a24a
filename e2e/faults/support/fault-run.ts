import type { QueueKey } from '@ser/contracts';
import { waitFor, WaitForTimeoutError } from '@ser/testing';
import { setTimeout as delay } from 'node:timers/promises';
import { FINAL_MESSAGE_STATES } from './audit';
import type { FaultEnvironment } from './fault-environment';
import type { Worker } from './relay-processes';
import type { AttemptOutcome, Traffic } from './traffic';

export interface PhaseResult {
  name: string;
  /** When the fault was injected (ISO 8601), to find it in the logs. */
  at: string;
  /** From the injection to the end of the fault (the process back and ready, the outage over). */
  faultMs: number;
  /** From the end of the fault until mail submitted after it reached the sink again. */
  recoveryMs: number;
  /** Client attempts that ended during the phase, by outcome. */
  attempts: Partial<Record<AttemptOutcome, number>>;
  notes: string[];
}

const QUEUE_OF: Record<Exclude<Worker, 'ingress'>, QueueKey> = {
  scanner: 'scan',
  signer: 'sign',
  egress: 'deliver',
  reporting: 'events',
};
const QUEUES: readonly QueueKey[] = ['scan', 'sign', 'deliver', 'events'];
/** Mail moving again: this many messages submitted after the fault ended are at the sink. */
const MOVING_AFTER = 3;
// Bound by the pipeline's throughput on FerretDB 1.24 (a backlog drains at a few tenths of a message a
// second here, docs/faults.md run 6): recovery times are reported; this bound only catches a stall.
const RECOVERY_TIMEOUT_MS = 300_000;

/** Injects the faults one after another while the traffic flows, and times each recovery. */
export class FaultRun {
  readonly phases: PhaseResult[] = [];
  readonly failures: string[] = [];

  constructor(
    private readonly env: FaultEnvironment,
    private readonly traffic: Traffic,
  ) {}

  /**
   * Injects one fault and waits for mail to move again. A phase that fails is recorded in `failures`
   * and the run goes on, so that the audit still reports what happened to every message.
   */
  async phase(name: string, inject: (notes: string[]) => Promise<void>): Promise<void> {
    const firstAttempt = this.traffic.attempts.length;
    const notes: string[] = [];
    const started = Date.now();
    let faultEnded = started;
    try {
      await inject(notes);
      faultEnded = Date.now();
      await this.moving(faultEnded, name);
    } catch (error) {
      this.failures.push(`${name}: ${error instanceof Error ? error.message : String(error)}`);
      notes.push('FAILED');
    }
    const attempts: Partial<Record<AttemptOutcome, number>> = {};
    for (const attempt of this.traffic.attempts.slice(firstAttempt)) {
      attempts[attempt.outcome] = (attempts[attempt.outcome] ?? 0) + 1;
    }
    this.phases.push({
      name,
      at: new Date(started).toISOString(),
      faultMs: faultEnded - started,
      recoveryMs: Date.now() - faultEnded,
      attempts,
      notes,
    });
  }

  /** Waits until mail submitted after `since` arrives at the sink. */
  async moving(since: number, what: string): Promise<void> {
    await waitFor(
      () =>
        this.traffic.acceptedSince(since).filter((a) => this.env.ledger.has(a.key)).length >= MOVING_AFTER,
      {
        timeoutMs: RECOVERY_TIMEOUT_MS,
        intervalMs: 100,
        description: () =>
          `${MOVING_AFTER} messages submitted after "${what}" delivered (${this.traffic.acceptedSince(since).length} accepted since)`,
      },
    );
  }

  /** SIGKILL while the worker is busy (a job of its queue active, a client mid-transaction), then restart. */
  async killWorker(worker: Worker, notes: string[]): Promise<void> {
    const busy = await waitFor(() => this.busy(worker), { timeoutMs: 10_000, intervalMs: 5 }).catch(
      () => false,
    );
    notes.push(busy ? 'killed while busy' : 'killed while idle (nothing in progress within 10 s)');
    await this.env.relay.crashAndRestart(worker);
  }

  async crashRedis(): Promise<void> {
    await this.env.redis.process.kill('SIGKILL');
    await this.env.redis.start();
  }

  /** SIGSTOP (default) or kill -9 for `ms`, then SIGCONT or a start on the same SQLite files. */
  async stopDatabase(ms: number, mode: 'stop' | 'kill', notes: string[]): Promise<void> {
    const ferretdb = this.env.ferretdb;
    if (mode === 'stop') {
      ferretdb.process.signal('SIGSTOP');
      notes.push(`FerretDB SIGSTOP for ${ms / 1000} s, then SIGCONT`);
      await delay(ms); // the outage's length is the fault itself
      ferretdb.process.signal('SIGCONT');
    } else {
      await ferretdb.process.kill('SIGKILL');
      notes.push(`FerretDB kill -9, down for ${ms / 1000} s, restarted on the same SQLite files`);
      await delay(ms);
      await ferretdb.start();
    }
  }

  /** The MX stops answering until egress has given up on it at least twice (its timeouts fired). */
  async mxTimeout(notes: string[]): Promise<void> {
    const mx = this.env.mx;
    const abandonedBefore = mx.held.abandoned;
    mx.goSilent();
    await waitFor(() => mx.held.abandoned - abandonedBefore >= 2 && mx.held.total >= 2, {
      timeoutMs: 60_000,
      intervalMs: 100,
      description: 'egress giving up on the silent MX twice',
    });
    notes.push(
      `${mx.held.total} connections held without a greeting, ${mx.held.abandoned} abandoned by egress`,
    );
    mx.answer();
  }

  /**
   * Waits until no job is left in any queue and every message in the database has a final state
   * (records left `receiving` by refused submissions are removed by the ingress sweeper).
   * Resolves with false instead of throwing at the deadline, so the audit can say what is stuck.
   */
  async settle(timeoutMs: number): Promise<boolean> {
    const messages = this.env.mongo.db.collection('messages');
    try {
      await waitFor(
        async () => {
          for (const key of QUEUES) {
            const counts = await this.env.bus
              .queue(key)
              .getJobCounts('waiting', 'active', 'delayed', 'prioritized');
            if (Object.values(counts).some((n) => n > 0)) {
              return false;
            }
          }
          return (await messages.countDocuments({ state: { $nin: FINAL_MESSAGE_STATES } })) === 0;
        },
        { timeoutMs, intervalMs: 1000, description: 'the system settled' },
      );
      return true;
    } catch (error) {
      if (error instanceof WaitForTimeoutError) {
        return false;
      }
      throw error;
    }
  }

  private async busy(worker: Worker): Promise<boolean> {
    if (worker === 'ingress') {
      return this.traffic.inFlight > 0;
    }
    return (await this.env.bus.queue(QUEUE_OF[worker]).getActiveCount()) > 0;
  }
}
