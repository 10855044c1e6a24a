import type { RelayConfig } from '@ser/config';
import type { Logger } from '@ser/logger';
import { createRedis } from '@ser/queue';
import { CONFIG, LOGGER } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import type { OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';

const WINDOW_MS = 60_000;

/** `allowed`, or how long until the caller's window resets. */
export type RateDecision = { allowed: true } | { allowed: false; retryAfterSeconds: number };

/**
 * A fixed one-minute window per caller, counted in Redis so every admin replica shares it. Fails
 * open when Redis is unreachable: the limit protects the API from floods, it is not access control.
 */
@Injectable()
export class RateLimiter implements OnApplicationShutdown {
  private redis: Redis | undefined;

  constructor(
    @Inject(CONFIG) private readonly config: RelayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  /** Counts one request of `caller` (`token:<id>`, `operator:bootstrap`, `address:<ip>`). */
  async take(caller: string, now = Date.now()): Promise<RateDecision> {
    const limit = this.config.SER_ADMIN_RATE_LIMIT_PER_MINUTE;
    if (limit === 0) {
      return { allowed: true };
    }
    const window = Math.floor(now / WINDOW_MS);
    const key = `${this.config.SER_QUEUE_PREFIX}:admin:rate:${caller}:${window}`;
    let count: number;
    try {
      const redis = (this.redis ??= createRedis(this.config.REDIS_URL, 'producer'));
      const [[, incremented]] = (await redis
        .multi()
        .incr(key)
        .pexpire(key, WINDOW_MS * 2)
        .exec()) as [[Error | null, number]];
      count = incremented;
    } catch (err) {
      this.logger.warn({ code: 'ADMIN_RATE_LIMIT_UNAVAILABLE', err }, 'rate limit not checked');
      return { allowed: true };
    }
    if (count <= limit) {
      return { allowed: true };
    }
    return { allowed: false, retryAfterSeconds: Math.ceil(((window + 1) * WINDOW_MS - now) / 1000) };
  }

  onApplicationShutdown(): void {
    this.redis?.disconnect();
  }
}
