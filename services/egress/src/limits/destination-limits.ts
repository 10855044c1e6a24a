import type { RelayConfig } from '@ser/config';
import type { Logger } from '@ser/logger';
import { createRedis } from '@ser/queue';
import { CONFIG, LOGGER } from '@ser/runtime';
import { Inject, Injectable, Optional } from '@nestjs/common';
import type { Redis, Result } from 'ioredis';
import { randomUUID } from 'node:crypto';

/** One open connection to an MX host, counted against its cap until released. */
export interface ConnectionSlot {
  /** The MX host name, lowercased. */
  readonly host: string;
  /** Frees the slot (idempotent); rejects when Redis cannot be reached (the lease then lapses). */
  release(): Promise<void>;
}

/** Tuning that operators do not set; tests shorten the lease. */
export interface DestinationLimitsOptions {
  /** How long a slot lives without a refresh (default 60 s); held slots are refreshed every third of it. */
  leaseMs?: number;
}

/** Optional provider of {@link DestinationLimitsOptions}. */
export const DESTINATION_LIMITS_OPTIONS = Symbol('DESTINATION_LIMITS_OPTIONS');

/** Redis could not be asked; the caller defers the job rather than sending unlimited. */
export class DestinationLimitsUnavailableError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DestinationLimitsUnavailableError';
  }
}

export type TakeMessageResult = { allowed: true } | { allowed: false; retryInMs: number };

const DEFAULT_LEASE_MS = 60_000;
const RATE_WINDOW_MS = 60_000;
/** As long as one connection attempt may take (the producer connection's `connectTimeout`). */
const READY_TIMEOUT_MS = 5000;

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** Defined by DestinationLimits; 1 when the slot was added, 0 when the host is at its cap. */
    serEgressSlotAcquire(key: string, id: string, cap: number, leaseMs: number): Result<number, Context>;
    /** Defined by DestinationLimits; 1 when the slot's lease was extended, 0 when it had gone. */
    serEgressSlotRefresh(key: string, id: string, leaseMs: number): Result<number, Context>;
    /** Defined by DestinationLimits; the number of unexpired slots. */
    serEgressSlotCount(key: string): Result<number, Context>;
    /** Defined by DestinationLimits; -1 when counted, else the ms until the window ends. */
    serEgressRateTake(key: string, limit: number, windowMs: number): Result<number, Context>;
    /** Defined by DestinationLimits; takes one message back from a window that still counts it. */
    serEgressRateReturn(key: string): Result<number, Context>;
  }
}

// Every script reads the Redis server's clock, so replicas with skewed clocks agree on expiry.
// Scripts are replicated by effects (Redis >= 5), which allows TIME before writes.
const NOW_LUA = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
`;

// Purge and count and add in one script, so that replicas racing for the last slot cannot both
// take it. Every write sets the key's TTL to the lease: no member outlives now + lease, so an idle
// host's key disappears with its last slot.
const ACQUIRE_LUA = `${NOW_LUA}
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
`;

// A member still present may be extended even if its score has passed: every acquire purges
// expired members before counting, so while it is present nobody has taken its place.
const REFRESH_LUA = `${NOW_LUA}
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[2]), ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
`;

const COUNT_LUA = `${NOW_LUA}
return redis.call('ZCOUNT', KEYS[1], '(' .. now, '+inf')
`;

// Check-then-increment: a refusal counts nothing, so a busy domain is not locked out longer. The
// window starts with the first message counted and lasts ARGV[2] ms (the key's TTL).
const RATE_LUA = `
if tonumber(redis.call('GET', KEYS[1]) or '0') >= tonumber(ARGV[1]) then
  local ttl = redis.call('PTTL', KEYS[1])
  if ttl >= 0 then return ttl end
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return tonumber(ARGV[2])
end
if redis.call('INCR', KEYS[1]) == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return -1
`;

// Only while the window lives and counts something: a returned message never makes a window.
const RATE_RETURN_LUA = `
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then return redis.call('DECR', KEYS[1]) end
return 0
`;

/**
 * Per-MX connection caps and per-recipient-domain message rates, shared by every egress replica
 * through Redis.
 *
 * Keys (the host or domain, lowercased, comes last, so whatever it holds, keys cannot collide):
 * - `<prefix>:egress:mx-slots:<host>`: sorted set of open connection slots, member = slot id,
 *   score = lease expiry (Redis server ms). A holder refreshes its slot every lease/3; a crashed
 *   replica's slots lapse within one lease. The key expires one lease after its last write.
 * - `<prefix>:egress:domain-rate:<domain>`: messages counted in the domain's current window, a
 *   fixed minute starting with its first message (the key's TTL).
 *
 * Redis errors reject acquireConnection/takeMessage (logged as `EGRESS_LIMITS_UNAVAILABLE`): the
 * caller defers the job; it never sends unlimited.
 */
@Injectable()
export class DestinationLimits {
  private readonly redis: Redis;
  private readonly leaseMs: number;
  /** Refresh timers of the slots this replica holds. */
  private readonly refreshers = new Set<NodeJS.Timeout>();
  private closed: Promise<void> | undefined;

  constructor(
    @Inject(CONFIG) private readonly config: RelayConfig,
    @Inject(LOGGER) private readonly logger: Logger,
    @Optional() @Inject(DESTINATION_LIMITS_OPTIONS) options: DestinationLimitsOptions = {},
  ) {
    this.leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
    if (!Number.isSafeInteger(this.leaseMs) || this.leaseMs < 30) {
      throw new RangeError(
        `DestinationLimits: leaseMs must be an integer >= 30, got ${String(this.leaseMs)}`,
      );
    }
    // Fails fast (no offline queue): a job waiting on an unreachable Redis is deferred, not stuck.
    this.redis = createRedis(config.REDIS_URL, 'producer');
    // Reconnects are silent; failures surface through rejected commands.
    this.redis.on('error', () => undefined);
    this.redis.defineCommand('serEgressSlotAcquire', { numberOfKeys: 1, lua: ACQUIRE_LUA });
    this.redis.defineCommand('serEgressSlotRefresh', { numberOfKeys: 1, lua: REFRESH_LUA });
    this.redis.defineCommand('serEgressSlotCount', { numberOfKeys: 1, lua: COUNT_LUA });
    this.redis.defineCommand('serEgressRateTake', { numberOfKeys: 1, lua: RATE_LUA });
    this.redis.defineCommand('serEgressRateReturn', { numberOfKeys: 1, lua: RATE_RETURN_LUA });
  }

  /**
   * A slot for one more open connection to this MX host, or undefined when
   * `SER_EGRESS_MAX_CONNECTIONS_PER_MX` are open across all replicas. The slot is kept alive until
   * released.
   */
  async acquireConnection(host: string): Promise<ConnectionSlot | undefined> {
    const name = normalize(host);
    const key = this.key('mx-slots', name);
    const id = randomUUID();
    const acquired = await this.ask({ host: name }, () =>
      this.redis.serEgressSlotAcquire(key, id, this.config.SER_EGRESS_MAX_CONNECTIONS_PER_MX, this.leaseMs),
    );
    return acquired === 1 ? this.holdSlot(name, key, id) : undefined;
  }

  /**
   * Counts one message to a recipient domain in its current minute; refuses (counting nothing)
   * above `SER_EGRESS_DOMAIN_RATE_PER_MINUTE` (0 = unlimited, Redis not asked) and says when the
   * window ends.
   */
  async takeMessage(domain: string): Promise<TakeMessageResult> {
    const limit = this.config.SER_EGRESS_DOMAIN_RATE_PER_MINUTE;
    if (limit === 0) {
      return { allowed: true };
    }
    const name = normalize(domain);
    const reply = await this.ask({ domain: name }, () =>
      this.redis.serEgressRateTake(this.key('domain-rate', name), limit, RATE_WINDOW_MS),
    );
    return reply < 0 ? { allowed: true } : { allowed: false, retryInMs: Math.max(1, reply) };
  }

  /** Gives back a message counted by `takeMessage` that was not sent after all (its MX was at its cap). */
  async returnMessage(domain: string): Promise<void> {
    if (this.config.SER_EGRESS_DOMAIN_RATE_PER_MINUTE === 0) {
      return;
    }
    const name = normalize(domain);
    await this.ask({ domain: name }, () => this.redis.serEgressRateReturn(this.key('domain-rate', name)));
  }

  /** The number of open connection slots to a host across replicas (for tests and metrics). */
  async openConnections(host: string): Promise<number> {
    const name = normalize(host);
    return this.ask({ host: name }, () => this.redis.serEgressSlotCount(this.key('mx-slots', name)));
  }

  /**
   * Stops refreshing and closes the connection without releasing held slots: by now the
   * connection pool has released its slots, and any still held lapse within one lease, as a
   * crashed replica's would.
   */
  close(): Promise<void> {
    // Idempotent: a second QUIT on a closing connection would make ioredis reconnect once more.
    this.closed ??= this.shutDown();
    return this.closed;
  }

  private async shutDown(): Promise<void> {
    for (const timer of this.refreshers) {
      clearInterval(timer);
    }
    this.refreshers.clear();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }

  private holdSlot(host: string, key: string, id: string): ConnectionSlot {
    const timer = setInterval(() => void this.refresh(host, key, id, timer), Math.floor(this.leaseMs / 3));
    timer.unref();
    if (this.closed === undefined) {
      this.refreshers.add(timer);
    } else {
      // Acquired while closing: nothing will release it; let the lease run out.
      clearInterval(timer);
    }
    return {
      host,
      release: async () => {
        clearInterval(timer);
        if (this.refreshers.delete(timer)) {
          await this.redis.zrem(key, id);
        }
      },
    };
  }

  private async refresh(host: string, key: string, id: string, timer: NodeJS.Timeout): Promise<void> {
    try {
      const kept = await this.redis.serEgressSlotRefresh(key, id, this.leaseMs);
      if (kept === 0 && this.refreshers.delete(timer)) {
        clearInterval(timer);
        // Redis was out of reach for longer than the lease (or lost data): the slot may be reused.
        this.logger.warn({ code: 'EGRESS_SLOT_LOST', host }, 'connection slot lease lapsed while held');
      }
    } catch (error) {
      // The next tick tries again; the lease outlives two missed refreshes.
      this.logger.warn(
        { code: 'EGRESS_SLOT_REFRESH_FAILED', host, err: error },
        'connection slot not refreshed',
      );
    }
  }

  private async ask<T>(
    subject: { host: string } | { domain: string },
    command: () => Promise<T>,
  ): Promise<T> {
    try {
      await this.ready();
      return await command();
    } catch (error) {
      this.logger.warn(
        { code: 'EGRESS_LIMITS_UNAVAILABLE', ...subject, err: error },
        'destination limits unavailable',
      );
      throw new DestinationLimitsUnavailableError('destination limits unavailable: Redis not reachable', {
        cause: error,
      });
    }
  }

  /**
   * Without an offline queue, a command sent while (re)connecting fails at once; wait for the
   * connection instead, up to one connection attempt.
   */
  private ready(): Promise<void> {
    const redis = this.redis;
    if (redis.status === 'ready') {
      return Promise.resolve();
    }
    if (redis.status === 'end') {
      return Promise.reject(new Error('Redis connection closed'));
    }
    return new Promise((resolve, reject) => {
      const settle = (error?: Error): void => {
        clearTimeout(timer);
        redis.off('ready', onReady);
        redis.off('error', onError);
        redis.off('end', onEnd);
        if (error === undefined) {
          resolve();
        } else {
          reject(error);
        }
      };
      const onReady = (): void => settle();
      const onError = (error: Error): void => settle(error);
      const onEnd = (): void => settle(new Error('Redis connection closed'));
      const timer = setTimeout(() => settle(new Error('Redis not ready in time')), READY_TIMEOUT_MS);
      redis.on('ready', onReady);
      redis.on('error', onError);
      redis.on('end', onEnd);
    });
  }

  private key(kind: 'mx-slots' | 'domain-rate', name: string): string {
    return `${this.config.SER_QUEUE_PREFIX}:egress:${kind}:${name}`;
  }
}

/** Host and domain names are case-insensitive, and a trailing dot names the same host. */
function normalize(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}
