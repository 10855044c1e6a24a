import type { RelayConfig } from '@ser/config';
import type { Logger } from '@ser/logger';
import { createRedis } from '@ser/queue';
import type { OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { once } from 'node:events';

/**
 * A pass that runs every `intervalMs` on one reporting replica at a time: each replica's timer
 * asks Redis for the turn (`SET <prefix>:reporting:<name>-lock NX PX <interval>`), and only the one
 * that got it runs the pass. The passes must still be idempotent: a turn lasts one interval, and a
 * slow pass may overlap the next replica's turn.
 */
export abstract class ReplicaTurn<R> implements OnApplicationBootstrap, OnApplicationShutdown {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  /** For the turn lock; opened on first use. */
  private redis: Redis | undefined;

  protected constructor(
    protected readonly config: RelayConfig,
    protected readonly logger: Logger,
    private readonly turn: { name: string; intervalMs: number; failureCode: string; failureText: string },
  ) {}

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
    this.redis?.disconnect();
  }

  /** One pass, unless another replica holds the turn for this interval. */
  async runIfOurTurn(now = new Date()): Promise<R | undefined> {
    const redis = (this.redis ??= createRedis(this.config.REDIS_URL, 'producer'));
    if (redis.status !== 'ready') {
      // A fresh connection (or one reconnecting): give it a moment, else skip this turn.
      await Promise.race([once(redis, 'ready'), new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
    }
    const key = `${this.config.SER_QUEUE_PREFIX}:reporting:${this.turn.name}-lock`;
    const turn = await redis.set(key, '1', 'PX', this.turn.intervalMs, 'NX');
    return turn === 'OK' ? this.pass(now) : undefined;
  }
}
