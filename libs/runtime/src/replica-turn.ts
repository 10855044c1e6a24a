import type { RelayConfig, ServiceName } from '@ser/config';
import type { Logger } from '@ser/logger';
import { createRedis } from '@ser/queue';
import type { OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { once } from 'node:events';

/** What a periodic pass is called, how often it runs, and how its failures are logged. */
export interface ReplicaTurnOptions {
  /** The lock is `<SER_QUEUE_PREFIX>:<service>:<name>-lock`. */
  service: ServiceName;
  name: string;
  intervalMs: number;
  failureCode: string;
  failureText: string;
  /** A connection the service already has; without it, one is opened on first use and closed. */
  redis?: Redis;
}

/**
 * A pass that runs every `intervalMs` on one replica of a service at a time: each replica's timer
 * asks Redis for the turn (`SET <prefix>:<service>:<name>-lock NX PX <interval>`), and only the one
 * that got it runs the pass. The passes must still be idempotent: a turn lasts one interval, and a
 * slow pass may overlap the next replica's turn.
 */
export abstract class ReplicaTurn<R> implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  /** For the turn lock: the service's own, or one opened on first use (and closed here). */
  private redis: Redis | undefined;
  private readonly ownsRedis: boolean;

  protected constructor(
    protected readonly config: RelayConfig,
    protected readonly logger: Logger,
    private readonly turn: ReplicaTurnOptions,
  ) {
    this.redis = turn.redis;
    this.ownsRedis = turn.redis === undefined;
  }

  /** The work of one turn. */
  protected abstract pass(now: Date): Promise<R>;

  onApplicationBootstrap(): void {
    this.timer = setInterval(() => {
      this.running = this.runIfOurTurn().catch((err: unknown) =>
        this.logger.warn({ code: this.turn.failureCode, err }, this.turn.failureText),
      );
    }, this.turn.intervalMs);
    this.timer.unref();
  }

  async onApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
    if (this.ownsRedis) {
      this.redis?.disconnect();
    }
  }

  /** One pass, unless another replica holds the turn for this interval. */
  async runIfOurTurn(now = new Date()): Promise<R | undefined> {
    const redis = (this.redis ??= createRedis(this.config.REDIS_URL, 'producer'));
    if (redis.status !== 'ready') {
      // A fresh connection (or one reconnecting): give it a moment, else skip this turn.
      await Promise.race([once(redis, 'ready'), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    }
    const key = `${this.config.SER_QUEUE_PREFIX}:${this.turn.service}:${this.turn.name}-lock`;
    const turn = await redis.set(key, '1', 'PX', this.turn.intervalMs, 'NX');
    return turn === 'OK' ? this.pass(now) : undefined;
  }
}
