import { loadConfig } from '@ser/config';
import { createLogger } from '@ser/logger';
import { freePort, uniqueName, waitFor } from '@ser/testing';
import { setTimeout as delay } from 'node:timers/promises';
import { DestinationLimits, DestinationLimitsUnavailableError } from '../src/limits/destination-limits';
import type { ConnectionSlot, DestinationLimitsOptions } from '../src/limits/destination-limits';

// Long enough that a busy machine does not miss two refreshes (every lease/3) in a row.
const SHORT_LEASE_MS = 4000;
const REDIS_URL = process.env['REDIS_URL'] ?? 'redis://127.0.0.1:6379';

describe('DestinationLimits (shared by egress replicas through Redis)', () => {
  const logger = createLogger({ level: 'silent', pretty: false });
  const instances: DestinationLimits[] = [];

  /** One egress replica's limits; replicas with the same prefix share their counters. */
  function replica(
    env: Record<string, string> = {},
    options: DestinationLimitsOptions = {},
  ): DestinationLimits {
    const config = loadConfig({
      REDIS_URL,
      SER_EGRESS_MAX_CONNECTIONS_PER_MX: '2',
      SER_EGRESS_DOMAIN_RATE_PER_MINUTE: '3',
      ...env,
    });
    const limits = new DestinationLimits(config, logger, options);
    instances.push(limits);
    return limits;
  }

  /** Two replicas of one deployment (a prefix of their own). */
  function twoReplicas(
    env: Record<string, string> = {},
    options: DestinationLimitsOptions = {},
  ): [DestinationLimits, DestinationLimits] {
    const shared = { SER_QUEUE_PREFIX: uniqueName('t'), ...env };
    return [replica(shared, options), replica(shared, options)];
  }

  async function acquired(limits: DestinationLimits, host: string): Promise<ConnectionSlot> {
    const slot = await limits.acquireConnection(host);
    if (slot === undefined) {
      throw new Error(`expected a connection slot for ${host}`);
    }
    return slot;
  }

  afterAll(async () => {
    await Promise.all(instances.map((i) => i.close()));
  });

  describe('connection slots per MX host', () => {
    it('caps open connections across replicas, and a release frees one', async () => {
      const [a, b] = twoReplicas();
      const first = await acquired(a, 'mx1.big.test');
      const second = await acquired(b, 'MX1.Big.TEST.');

      expect(first.host).toBe('mx1.big.test');
      expect(second.host).toBe('mx1.big.test');
      expect(await a.acquireConnection('mx1.big.test')).toBeUndefined();
      expect(await b.acquireConnection('mx1.big.test')).toBeUndefined();
      expect(await a.openConnections('mx1.big.test')).toBe(2);
      expect(await b.openConnections('mx1.big.test')).toBe(2);

      await first.release();
      expect(await b.openConnections('mx1.big.test')).toBe(1);
      const third = await acquired(b, 'mx1.big.test');

      // Releasing twice must not free the slot that took its place.
      await first.release();
      expect(await a.openConnections('mx1.big.test')).toBe(2);
      await Promise.all([second.release(), third.release()]);
      expect(await a.openConnections('mx1.big.test')).toBe(0);
    });

    it('keeps hosts and deployments (prefixes) apart', async () => {
      const [a, b] = twoReplicas();
      const other = replica({ SER_QUEUE_PREFIX: uniqueName('t') });
      const held = [await acquired(a, 'mx.full.test'), await acquired(b, 'mx.full.test')];
      expect(await a.acquireConnection('mx.full.test')).toBeUndefined();

      expect(await a.acquireConnection('mx.other.test')).toBeDefined();
      expect(await other.acquireConnection('mx.full.test')).toBeDefined();
      expect(await other.openConnections('mx.full.test')).toBe(1);
      expect(await b.openConnections('mx.full.test')).toBe(2);
      await Promise.all(held.map((slot) => slot.release()));
    });

    it("reclaims a crashed replica's slot once its lease runs out", async () => {
      const [survivor, crashing] = twoReplicas({}, { leaseMs: SHORT_LEASE_MS });
      // The survivor's refreshed slot keeps the host's key alive: only the crashed slot may lapse.
      const kept = await acquired(survivor, 'mx.crash.test');
      await acquired(crashing, 'mx.crash.test');

      // Stops its refresh timers and drops its connection without releasing, as a crash would.
      await crashing.close();
      expect(await survivor.acquireConnection('mx.crash.test')).toBeUndefined();

      const reclaimed = await waitFor(() => survivor.acquireConnection('mx.crash.test'), {
        timeoutMs: SHORT_LEASE_MS * 5,
        intervalMs: 200,
        description: 'a slot freed by the lease',
      });
      expect(reclaimed.host).toBe('mx.crash.test');
      expect(await survivor.openConnections('mx.crash.test')).toBe(2);
      await Promise.all([kept.release(), reclaimed.release()]);
      expect(await survivor.openConnections('mx.crash.test')).toBe(0);
    });

    it('keeps a held slot alive past its lease by refreshing it', async () => {
      const [holder, other] = twoReplicas({}, { leaseMs: SHORT_LEASE_MS });
      const first = await acquired(holder, 'mx.long.test');
      await acquired(holder, 'mx.long.test');

      // The passing of time is what is under test: two whole leases, with no release in between.
      await delay(SHORT_LEASE_MS * 2);

      expect(await other.openConnections('mx.long.test')).toBe(2);
      expect(await other.acquireConnection('mx.long.test')).toBeUndefined();
      await first.release();
      expect(await other.acquireConnection('mx.long.test')).toBeDefined();
    });
  });

  describe('messages per recipient domain and minute', () => {
    it('counts across replicas and refuses above the rate until the window ends', async () => {
      const [a, b] = twoReplicas();
      expect(await a.takeMessage('big.test')).toEqual({ allowed: true });
      expect(await b.takeMessage('BIG.test')).toEqual({ allowed: true });
      expect(await a.takeMessage('big.test.')).toEqual({ allowed: true });

      for (const limits of [a, b]) {
        const refused = await limits.takeMessage('big.test');
        if (refused.allowed) {
          throw new Error('expected a refusal above 3 messages per minute');
        }
        // The window began with the first message a moment ago (generous for a busy machine).
        expect(refused.retryInMs).toBeGreaterThan(30_000);
        expect(refused.retryInMs).toBeLessThanOrEqual(60_000);
      }
    });

    it('keeps domains and deployments (prefixes) apart', async () => {
      const [a, b] = twoReplicas({ SER_EGRESS_DOMAIN_RATE_PER_MINUTE: '1' });
      const other = replica({ SER_QUEUE_PREFIX: uniqueName('t'), SER_EGRESS_DOMAIN_RATE_PER_MINUTE: '1' });
      expect(await a.takeMessage('one.test')).toEqual({ allowed: true });
      expect((await b.takeMessage('one.test')).allowed).toBe(false);

      expect(await b.takeMessage('two.test')).toEqual({ allowed: true });
      expect(await other.takeMessage('one.test')).toEqual({ allowed: true });
    });

    it('takes back a message that was not sent, so it does not use up the window', async () => {
      const [a, b] = twoReplicas({ SER_EGRESS_DOMAIN_RATE_PER_MINUTE: '1' });
      expect(await a.takeMessage('back.test')).toEqual({ allowed: true });
      expect((await b.takeMessage('back.test')).allowed).toBe(false);
      await a.returnMessage('back.test');
      expect(await b.takeMessage('back.test')).toEqual({ allowed: true });
      // Returning to an empty window counts nothing below zero.
      await a.returnMessage('fresh.test');
      await a.returnMessage('fresh.test');
      expect(await b.takeMessage('fresh.test')).toEqual({ allowed: true });
      expect((await a.takeMessage('fresh.test')).allowed).toBe(false);
    });

    it('never refuses when the rate is 0 (unlimited)', async () => {
      const [a, b] = twoReplicas({ SER_EGRESS_DOMAIN_RATE_PER_MINUTE: '0' });
      for (let i = 0; i < 20; i++) {
        expect(await (i % 2 === 0 ? a : b).takeMessage('unlimited.test')).toEqual({ allowed: true });
      }
    });
  });

  it('rejects (never allows) while Redis is unreachable', async () => {
    const down = replica({
      REDIS_URL: `redis://127.0.0.1:${String(await freePort())}`,
      SER_QUEUE_PREFIX: uniqueName('t'),
    });
    await expect(down.acquireConnection('mx.down.test')).rejects.toBeInstanceOf(
      DestinationLimitsUnavailableError,
    );
    await expect(down.takeMessage('down.test')).rejects.toBeInstanceOf(DestinationLimitsUnavailableError);
  });
});
