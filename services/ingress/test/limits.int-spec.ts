import { loadConfig } from '@ser/config';
import { uniqueName, waitFor } from '@ser/testing';
import { Redis } from 'ioredis';
import { AuthLockout } from '../src/limits/auth-lockout';
import type { AuthLockoutOptions } from '../src/limits/auth-lockout';
import { RateLimiter } from '../src/limits/rate-limiter';
import type { RateLimits } from '../src/limits/rate-limiter';

/**
 * Real Redis. Every test works under a key prefix of its own and deletes its keys afterwards, so
 * tests run in parallel with anything else on the same server. Two connections stand for two
 * ingress replicas.
 */
const { REDIS_URL } = loadConfig(process.env);
let replicaA: Redis;
let replicaB: Redis;
let prefix: string;

beforeAll(() => {
  replicaA = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  replicaB = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
});

beforeEach(() => {
  prefix = uniqueName('limits');
});

afterEach(async () => {
  const keys = await keysOf(prefix);
  if (keys.length > 0) {
    await replicaA.del(...keys);
  }
});

afterAll(async () => {
  await Promise.all([replicaA.quit(), replicaB.quit()]);
});

async function keysOf(keyPrefix: string): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await replicaA.scan(cursor, 'MATCH', `${keyPrefix}:*`, 'COUNT', 500);
    keys.push(...batch);
    cursor = next;
  } while (cursor !== '0');
  return keys;
}

/** Every key of the test's prefix must expire by itself, within `maxSeconds`. */
async function expectAllKeysToExpire(maxSeconds: number): Promise<void> {
  const keys = await keysOf(prefix);
  expect(keys.length).toBeGreaterThan(0);
  for (const key of keys) {
    const ttl = await replicaA.ttl(key);
    expect({ key, expires: ttl > 0 && ttl <= maxSeconds }).toEqual({ key, expires: true });
  }
}

describe('AuthLockout', () => {
  const options: AuthLockoutOptions = {
    failuresPerIp: 5,
    failuresPerUser: 3,
    windowSeconds: 60,
    lockoutSeconds: 60,
  };

  it('locks the user name on its third failure, whatever the IPs', async () => {
    const lockout = new AuthLockout(replicaA, prefix, options);

    expect(await lockout.recordFailure('192.0.2.1', 'alice')).toBeUndefined();
    expect(await lockout.recordFailure('192.0.2.2', 'alice')).toBeUndefined();
    expect(await lockout.locked('192.0.2.9', 'alice')).toBeUndefined();
    expect(await lockout.recordFailure('192.0.2.3', 'alice')).toBe('user');

    expect(await lockout.locked('192.0.2.9', 'alice')).toBe('user');
    expect(await lockout.locked('192.0.2.9', 'bob')).toBeUndefined();
    // The lock names a hash, never the user name itself.
    expect((await keysOf(prefix)).some((key) => key.includes('alice'))).toBe(false);
    await expectAllKeysToExpire(60);
  });

  it('locks the IP on its fifth failure, whatever the user names', async () => {
    const lockout = new AuthLockout(replicaA, prefix, options);

    for (const user of ['u1', 'u2', 'u3', 'u4']) {
      expect(await lockout.recordFailure('2001:db8::7', user)).toBeUndefined();
    }
    expect(await lockout.recordFailure('2001:db8::7', 'u5')).toBe('ip');

    expect(await lockout.locked('2001:db8::7', 'someone-else')).toBe('ip');
    expect(await lockout.locked('2001:db8::8', 'someone-else')).toBeUndefined();
  });

  it('reports the IP first when both are locked', async () => {
    const lockout = new AuthLockout(replicaA, prefix, { ...options, failuresPerIp: 3 });

    await lockout.recordFailure('192.0.2.1', 'alice');
    await lockout.recordFailure('192.0.2.1', 'alice');
    expect(await lockout.recordFailure('192.0.2.1', 'alice')).toBe('ip');

    expect(await lockout.locked('192.0.2.1', 'alice')).toBe('ip');
    expect(await lockout.locked('192.0.2.2', 'alice')).toBe('user');
  });

  it('counts an IPv4-mapped IPv6 address as the IPv4 address', async () => {
    const lockout = new AuthLockout(replicaA, prefix, { ...options, failuresPerIp: 2 });

    await lockout.recordFailure('::ffff:192.0.2.1', 'u1');
    expect(await lockout.recordFailure('192.0.2.1', 'u2')).toBe('ip');

    expect(await lockout.locked('::ffff:192.0.2.1', 'u3')).toBe('ip');
  });

  it('lifts the lock after lockoutSeconds, with a fresh failure budget', async () => {
    const lockout = new AuthLockout(replicaA, prefix, { ...options, lockoutSeconds: 1 });
    for (let i = 0; i < 3; i++) {
      await lockout.recordFailure('192.0.2.1', 'alice');
    }
    expect(await lockout.locked('192.0.2.1', 'alice')).toBe('user');

    await waitFor(async () => (await lockout.locked('192.0.2.1', 'alice')) === undefined, {
      timeoutMs: 4000,
      description: 'the user lock to expire',
    });

    expect(await lockout.recordFailure('192.0.2.1', 'alice')).toBeUndefined();
  });

  it('forgets failures older than windowSeconds', async () => {
    const lockout = new AuthLockout(replicaA, prefix, { ...options, windowSeconds: 1 });
    await lockout.recordFailure('192.0.2.1', 'alice');
    await lockout.recordFailure('192.0.2.1', 'alice');

    // The counters are the only keys; once they have expired the window has passed.
    await waitFor(async () => (await keysOf(prefix)).length === 0, {
      timeoutMs: 4000,
      description: 'the failure counters to expire',
    });

    expect(await lockout.recordFailure('192.0.2.1', 'alice')).toBeUndefined();
    expect(await lockout.recordFailure('192.0.2.1', 'alice')).toBeUndefined();
    expect(await lockout.recordFailure('192.0.2.1', 'alice')).toBe('user');
  });

  it('clears the user count on success, but not the IP count', async () => {
    const lockout = new AuthLockout(replicaA, prefix, { ...options, failuresPerIp: 4 });
    await lockout.recordFailure('192.0.2.1', 'alice');
    await lockout.recordFailure('192.0.2.1', 'alice');

    await lockout.recordSuccess('alice');

    expect(await lockout.recordFailure('192.0.2.2', 'alice')).toBeUndefined();
    expect(await lockout.recordFailure('192.0.2.2', 'alice')).toBeUndefined();
    // The IP's two earlier failures still count: 2 + 2 = 4.
    expect(await lockout.recordFailure('192.0.2.1', 'bob')).toBeUndefined();
    expect(await lockout.recordFailure('192.0.2.1', 'carol')).toBe('ip');
  });

  it('shares counts and locks between two replicas', async () => {
    const a = new AuthLockout(replicaA, prefix, options);
    const b = new AuthLockout(replicaB, prefix, options);

    expect(await a.recordFailure('192.0.2.1', 'alice')).toBeUndefined();
    expect(await b.recordFailure('192.0.2.2', 'alice')).toBeUndefined();
    expect(await a.recordFailure('192.0.2.3', 'alice')).toBe('user');

    expect(await b.locked('192.0.2.4', 'alice')).toBe('user');
  });

  it('sets exactly one lock when replicas race past the threshold', async () => {
    const a = new AuthLockout(replicaA, prefix, { ...options, failuresPerUser: 10, failuresPerIp: 100 });
    const b = new AuthLockout(replicaB, prefix, { ...options, failuresPerUser: 10, failuresPerIp: 100 });

    const scopes = await Promise.all(
      Array.from({ length: 10 }, (_, i) => (i % 2 === 0 ? a : b).recordFailure(`192.0.2.${i}`, 'alice')),
    );

    expect(scopes.filter((scope) => scope === 'user')).toHaveLength(1);
    expect(await a.locked('192.0.2.99', 'alice')).toBe('user');
  });

  it('propagates Redis errors instead of answering "not locked"', async () => {
    const closed = new Redis(REDIS_URL, { lazyConnect: true, enableOfflineQueue: false });
    closed.disconnect();
    const lockout = new AuthLockout(closed, prefix, options);

    await expect(lockout.locked('192.0.2.1', 'alice')).rejects.toThrow();
    await expect(lockout.recordFailure('192.0.2.1', 'alice')).rejects.toThrow();
  });

  it('refuses options that would never lock or never expire', () => {
    expect(() => new AuthLockout(replicaA, prefix, { ...options, failuresPerUser: 0 })).toThrow(RangeError);
    expect(() => new AuthLockout(replicaA, prefix, { ...options, windowSeconds: 1.5 })).toThrow(RangeError);
  });
});

describe('RateLimiter', () => {
  const limits: RateLimits = { messagesPerMinute: 3, messagesPerDay: 5, recipientsPerDay: 4 };
  const noon = Date.UTC(2031, 4, 20, 12, 0, 0);

  /** A clock the test moves by hand. */
  function clockAt(start: number): { now: () => number; set: (ms: number) => void } {
    let current = start;
    return { now: () => current, set: (ms) => (current = ms) };
  }

  it('refuses the message over messagesPerMinute until the next UTC minute', async () => {
    const clock = clockAt(noon + 15_000);
    const limiter = new RateLimiter(replicaA, prefix, clock.now);

    for (let i = 0; i < 3; i++) {
      expect(await limiter.takeMessage('app_1', limits)).toEqual({ ok: true });
    }
    expect(await limiter.takeMessage('app_1', limits)).toEqual({
      ok: false,
      limit: 'messagesPerMinute',
      retryAfterSeconds: 45,
    });
    // Another application has counters of its own.
    expect(await limiter.takeMessage('app_2', limits)).toEqual({ ok: true });

    clock.set(noon + 59_700);
    expect(await limiter.takeMessage('app_1', limits)).toMatchObject({ ok: false, retryAfterSeconds: 1 });
    clock.set(noon + 60_000);
    expect(await limiter.takeMessage('app_1', limits)).toEqual({ ok: true });
    await expectAllKeysToExpire(86_400 + 60);
  });

  it('refuses the message over messagesPerDay until the next UTC day', async () => {
    const clock = clockAt(noon);
    const limiter = new RateLimiter(replicaA, prefix, clock.now);
    for (let minute = 0; minute < 5; minute++) {
      clock.set(noon + minute * 60_000);
      expect(await limiter.takeMessage('app_1', limits)).toEqual({ ok: true });
    }

    clock.set(Date.UTC(2031, 4, 20, 23, 59, 0));
    expect(await limiter.takeMessage('app_1', limits)).toEqual({
      ok: false,
      limit: 'messagesPerDay',
      retryAfterSeconds: 60,
    });
    clock.set(Date.UTC(2031, 4, 21, 0, 0, 0));
    expect(await limiter.takeMessage('app_1', limits)).toEqual({ ok: true });
  });

  it('reports the day limit when the minute is full as well', async () => {
    const limiter = new RateLimiter(replicaA, prefix, () => noon);
    const tight = { ...limits, messagesPerDay: 3 };
    for (let i = 0; i < 3; i++) {
      await limiter.takeMessage('app_1', tight);
    }

    expect(await limiter.takeMessage('app_1', tight)).toMatchObject({ ok: false, limit: 'messagesPerDay' });
  });

  it('refuses the recipient over recipientsPerDay, apart from the message counts', async () => {
    const limiter = new RateLimiter(replicaA, prefix, () => noon);
    for (let i = 0; i < 4; i++) {
      expect(await limiter.takeRecipient('app_1', limits)).toEqual({ ok: true });
    }

    expect(await limiter.takeRecipient('app_1', limits)).toEqual({
      ok: false,
      limit: 'recipientsPerDay',
      retryAfterSeconds: 12 * 3600,
    });
    expect(await limiter.takeMessage('app_1', limits)).toEqual({ ok: true });
  });

  it('consumes nothing when it refuses', async () => {
    const clock = clockAt(noon);
    const limiter = new RateLimiter(replicaA, prefix, clock.now);
    for (let i = 0; i < 3; i++) {
      await limiter.takeMessage('app_1', limits);
    }
    // Refused by the minute: had these counted in the day, the day (5) would be full below.
    for (let i = 0; i < 5; i++) {
      expect(await limiter.takeMessage('app_1', limits)).toMatchObject({ ok: false });
    }

    clock.set(noon + 60_000);
    expect(await limiter.takeMessage('app_1', limits)).toEqual({ ok: true });
    expect(await limiter.takeMessage('app_1', limits)).toEqual({ ok: true });
    expect(await limiter.takeMessage('app_1', limits)).toMatchObject({ ok: false, limit: 'messagesPerDay' });
  });

  it('shares counts between two replicas', async () => {
    const a = new RateLimiter(replicaA, prefix, () => noon);
    const b = new RateLimiter(replicaB, prefix, () => noon);

    expect(await a.takeMessage('app_1', limits)).toEqual({ ok: true });
    expect(await b.takeMessage('app_1', limits)).toEqual({ ok: true });
    expect(await a.takeMessage('app_1', limits)).toEqual({ ok: true });
    expect(await b.takeMessage('app_1', limits)).toMatchObject({ ok: false, limit: 'messagesPerMinute' });
  });

  it('lets exactly the limit through when 50 takes race on two replicas', async () => {
    const a = new RateLimiter(replicaA, prefix, () => noon);
    const b = new RateLimiter(replicaB, prefix, () => noon);
    const racing = { messagesPerMinute: 10, messagesPerDay: 1000, recipientsPerDay: 10 };

    const messages = await Promise.all(
      Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).takeMessage('app_1', racing)),
    );
    const recipients = await Promise.all(
      Array.from({ length: 50 }, (_, i) => (i % 2 === 0 ? a : b).takeRecipient('app_1', racing)),
    );

    expect(messages.filter((d) => d.ok)).toHaveLength(10);
    expect(recipients.filter((d) => d.ok)).toHaveLength(10);
  });

  it('refuses everything with a limit of zero, and rejects a limit that is not a count', async () => {
    const limiter = new RateLimiter(replicaA, prefix, () => noon);

    expect(await limiter.takeRecipient('app_1', { ...limits, recipientsPerDay: 0 })).toMatchObject({
      ok: false,
    });
    await expect(limiter.takeMessage('app_1', { ...limits, messagesPerMinute: NaN })).rejects.toThrow(
      RangeError,
    );
  });

  it('propagates Redis errors instead of allowing the take', async () => {
    const closed = new Redis(REDIS_URL, { lazyConnect: true, enableOfflineQueue: false });
    closed.disconnect();
    const limiter = new RateLimiter(closed, prefix, () => noon);

    await expect(limiter.takeMessage('app_1', limits)).rejects.toThrow();
  });
});
