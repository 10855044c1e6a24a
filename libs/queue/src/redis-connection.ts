import { Redis } from 'ioredis';

/**
 * Producers fail fast (no offline queue) so that ingress can answer 451 when Redis is down;
 * workers wait and reconnect forever (BullMQ requires `maxRetriesPerRequest: null` for them).
 */
export function createRedis(url: string, role: 'producer' | 'worker'): Redis {
  if (role === 'worker') {
    return new Redis(url, { maxRetriesPerRequest: null, enableReadyCheck: true });
  }
  return new Redis(url, {
    maxRetriesPerRequest: 1,
    enableOfflineQueue: false,
    connectTimeout: 5000,
    commandTimeout: 5000,
    retryStrategy: (times) => Math.min(times * 200, 2000),
  });
}
