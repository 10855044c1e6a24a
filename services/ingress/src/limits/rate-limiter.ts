import type { Redis, Result } from 'ioredis';

/** Per-application sending limits; 0 refuses everything. */
export interface RateLimits {
  messagesPerMinute: number;
  messagesPerDay: number;
  recipientsPerDay: number;
}

/** The name of one limit, as reported in a refusal. */
export type RateLimitName = keyof RateLimits;

/** Outcome of a take: allowed and counted, or refused (nothing counted) with the limit that is full. */
export type RateDecision = { ok: true } | { ok: false; limit: RateLimitName; retryAfterSeconds: number };

const TAKE = 'serIngressRateTake';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** Defined by RateLimiter; replies 0 when taken, else the 1-based index of the full counter. */
    serIngressRateTake(numberOfKeys: number, ...keysAndArgs: (string | number)[]): Result<number, Context>;
  }
}

// Check-then-increment over all counters in one script: replicas racing for the last slot cannot
// both take it, and a refusal leaves every counter untouched. KEYS[i] has its limit at ARGV[2i-1]
// and its time to live (ms) at ARGV[2i], set only when the counter is created by this take.
const TAKE_LUA = `
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[2 * i - 1]) then return i end
end
for i, key in ipairs(KEYS) do
  if redis.call('INCR', key) == 1 then redis.call('PEXPIRE', key, ARGV[2 * i]) end
end
return 0
`;

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
// A counter outlives its window a little, so that a replica whose clock lags still finds it
// instead of recreating it; the next window has another key, so the extra life costs nothing.
const EXPIRY_GRACE_MS = 60_000;

interface Counter {
  limit: RateLimitName;
  key: string;
  max: number;
  /** Milliseconds until the counter's window ends. */
  remainingMs: number;
}

/**
 * Per-application sending limits shared by every ingress replica through Redis, in fixed UTC
 * windows (the minute and the day of `now`).
 *
 * Keys: `<prefix>:ingress:rate:<limit>:<window>:<appId>` with `<limit>` a {@link RateLimitName} and
 * `<window>` the UTC minute (`202405311742`) or day (`20240531`); each expires shortly after its
 * window ends. The app id comes last so that whatever characters it holds, keys cannot collide.
 *
 * Redis errors propagate: the caller fails closed (4xx).
 */
export class RateLimiter {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    /** Current time in ms; injectable for tests. */
    private readonly now: () => number = Date.now,
  ) {
    redis.defineCommand(TAKE, { lua: TAKE_LUA });
  }

  /**
   * One new message (at MAIL FROM): checks messagesPerMinute and messagesPerDay and, only if both
   * allow, counts it in both. When both are full, the day is reported: retrying within the minute
   * would be pointless.
   */
  takeMessage(appId: string, limits: RateLimits): Promise<RateDecision> {
    return this.take(appId, limits, ['messagesPerDay', 'messagesPerMinute']);
  }

  /** One more recipient (at RCPT TO): checks recipientsPerDay and counts it if allowed. */
  takeRecipient(appId: string, limits: RateLimits): Promise<RateDecision> {
    return this.take(appId, limits, ['recipientsPerDay']);
  }

  /** Takes one from each named limit, or from none; the first full one in `names` is reported. */
  private async take(appId: string, limits: RateLimits, names: RateLimitName[]): Promise<RateDecision> {
    const now = this.now();
    const counters = names.map((name) => this.counter(name, appId, limits, now));
    const args = counters.flatMap((c) => [c.max, c.remainingMs + EXPIRY_GRACE_MS]);
    const full = await this.redis.serIngressRateTake(counters.length, ...counters.map((c) => c.key), ...args);
    if (full === 0) {
      return { ok: true };
    }
    const refused = counters[full - 1];
    if (refused === undefined) {
      // Fail closed: an unexpected reply must not let mail through unlimited.
      throw new Error(`RateLimiter: unexpected reply ${String(full)} from the take script`);
    }
    return {
      ok: false,
      limit: refused.limit,
      retryAfterSeconds: Math.max(1, Math.ceil(refused.remainingMs / 1000)),
    };
  }

  private counter(limit: RateLimitName, appId: string, limits: RateLimits, now: number): Counter {
    const max = limits[limit];
    if (!Number.isSafeInteger(max) || max < 0) {
      throw new RangeError(`RateLimiter: ${limit} must be a non-negative integer, got ${String(max)}`);
    }
    const windowMs = limit === 'messagesPerMinute' ? MINUTE_MS : DAY_MS;
    const start = Math.floor(now / windowMs) * windowMs;
    // Epoch ms are UTC and ignore leap seconds, so multiples of a day are UTC midnights.
    const window = new Date(start)
      .toISOString()
      .slice(0, windowMs === MINUTE_MS ? 16 : 10)
      .replace(/\D/g, '');
    return {
      limit,
      key: `${this.prefix}:ingress:rate:${limit}:${window}:${appId}`,
      max,
      remainingMs: start + windowMs - now,
    };
  }
}
