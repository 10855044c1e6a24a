import { createHash } from 'node:crypto';
import type { Redis, Result } from 'ioredis';

/** Thresholds of the SMTP AUTH brute-force protection. */
export interface AuthLockoutOptions {
  /** Failed AUTHs from one IP within `windowSeconds` that lock the IP out. */
  failuresPerIp: number;
  /** Failed AUTHs for one user name within `windowSeconds` that lock the user name out. */
  failuresPerUser: number;
  /** Length of the counting window, from the first failure it counts. */
  windowSeconds: number;
  /** How long a lock lasts. */
  lockoutSeconds: number;
}

/** What a lock applies to: the client IP or the user name it tried. */
export type LockScope = 'ip' | 'user';

const RECORD_FAILURE = 'serIngressAuthRecordFailure';

declare module 'ioredis' {
  interface RedisCommander<Context> {
    /** Defined by AuthLockout; replies [ipLocked, userLocked] as 0 or 1. */
    serIngressAuthRecordFailure(
      ipFailures: string,
      userFailures: string,
      ipLock: string,
      userLock: string,
      failuresPerIp: number,
      failuresPerUser: number,
      windowSeconds: number,
      lockoutSeconds: number,
    ): Result<[number, number], Context>;
  }
}

// One script, so that replicas racing on the same IP or user name cannot both read "threshold - 1"
// and skip the lock. The window starts at the first failure (EXPIRE only on the key's creation).
// The counter is dropped when its lock is set: once the lock ends, the client gets a fresh budget
// instead of being locked again by its very next failure.
const RECORD_FAILURE_LUA = `
local function count(failures, lock, threshold)
  local n = redis.call('INCR', failures)
  if n == 1 then redis.call('EXPIRE', failures, ARGV[3]) end
  if n < tonumber(threshold) then return 0 end
  redis.call('SET', lock, '1', 'EX', ARGV[4])
  redis.call('DEL', failures)
  return 1
end
return { count(KEYS[1], KEYS[3], ARGV[1]), count(KEYS[2], KEYS[4], ARGV[2]) }
`;

/**
 * Brute-force protection for SMTP AUTH, shared by every ingress replica through Redis.
 *
 * Keys (user names are hashed, so neither keys nor `MONITOR` output reveal them):
 * - `<prefix>:ingress:auth-failures:ip:<ip>` and `…:auth-failures:user:<sha256 hex, 32 chars>`:
 *   failure counters, expiring `windowSeconds` after their first failure;
 * - `<prefix>:ingress:auth-lock:ip:<ip>` and `…:auth-lock:user:<hash>`: locks, expiring after
 *   `lockoutSeconds`.
 *
 * Redis errors propagate: the caller fails closed (454 4.7.0).
 */
export class AuthLockout {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly options: AuthLockoutOptions,
  ) {
    for (const [name, value] of Object.entries(options)) {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new RangeError(`AuthLockout: ${name} must be a positive integer, got ${String(value)}`);
      }
    }
    redis.defineCommand(RECORD_FAILURE, { numberOfKeys: 4, lua: RECORD_FAILURE_LUA });
  }

  /** Is this IP or this user name locked out now? (IP checked first.) */
  async locked(ip: string, username: string): Promise<LockScope | undefined> {
    const [ipLock, userLock] = await this.redis.mget(this.key('lock', ip), this.userKey('lock', username));
    if (ipLock !== null && ipLock !== undefined) {
      return 'ip';
    }
    return userLock !== null && userLock !== undefined ? 'user' : undefined;
  }

  /**
   * Counts one failed AUTH for the IP and for the user name. When a count reaches its threshold, sets
   * a lock for `lockoutSeconds` and returns its scope (`ip` when both were set by this failure);
   * undefined when this failure set no lock, even if an earlier lock is still in force.
   */
  async recordFailure(ip: string, username: string): Promise<LockScope | undefined> {
    const [ipLocked, userLocked] = await this.redis.serIngressAuthRecordFailure(
      this.key('failures', ip),
      this.userKey('failures', username),
      this.key('lock', ip),
      this.userKey('lock', username),
      this.options.failuresPerIp,
      this.options.failuresPerUser,
      this.options.windowSeconds,
      this.options.lockoutSeconds,
    );
    if (ipLocked === 1) {
      return 'ip';
    }
    return userLocked === 1 ? 'user' : undefined;
  }

  /**
   * A successful AUTH clears the user name's failure count. Not the IP's: one valid credential must
   * not let a client keep guessing other user names from the same address.
   */
  async recordSuccess(username: string): Promise<void> {
    await this.redis.del(this.userKey('failures', username));
  }

  private key(kind: 'failures' | 'lock', ip: string): string {
    return `${this.prefix}:ingress:auth-${kind}:ip:${normalizeIp(ip)}`;
  }

  private userKey(kind: 'failures' | 'lock', username: string): string {
    const hash = createHash('sha256').update(username, 'utf8').digest('hex').slice(0, 32);
    return `${this.prefix}:ingress:auth-${kind}:user:${hash}`;
  }
}

/**
 * A dual-stack listener reports IPv4 clients as `::ffff:a.b.c.d`; counting them under the plain
 * IPv4 form keeps one client on one counter whichever socket family accepted it.
 */
function normalizeIp(ip: string): string {
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(ip);
  return mapped?.[1] ?? ip.toLowerCase();
}
