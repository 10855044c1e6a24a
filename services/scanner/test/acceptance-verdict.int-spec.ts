import { jobIds, newMessageId } from '@ser/contracts';
import { ACCEPTANCE_VERDICT_TTL_S, acceptanceVerdictKey, AcceptanceVerdicts } from '@ser/queue';
import { testMail, waitFor } from '@ser/testing';
import { Redis } from 'ioredis';
import { startScanner } from './scanner-fixture';
import type { ScannerFixture } from './scanner-fixture';

/**
 * The scanner's side of the arbitration with ingress over a commit ingress could not confirm
 * (docs/scanning.md): it claims `taken` before it scans, and abides by a refusal ingress claimed first.
 */
describe('scanner: acceptance verdict', () => {
  let scanner: ScannerFixture;
  let redis: Redis;
  let verdicts: AcceptanceVerdicts;

  beforeAll(async () => {
    scanner = await startScanner({ SER_SPAMSCANNER_ENABLED: 'false', SER_SPAMD_HOST: undefined });
    redis = new Redis(scanner.redisUrl);
    verdicts = new AcceptanceVerdicts(redis, scanner.prefix);
  });

  afterAll(async () => {
    await scanner?.stop();
    await redis?.quit();
  });

  const mail = () => testMail({ subject: 'Receipt', text: 'Total: 42.00 EUR.' });

  async function jobDone(id: string): Promise<void> {
    await waitFor(async () => (await scanner.bus.queue('scan').getJob(jobIds.scan(id)))?.isCompleted(), {
      timeoutMs: 15_000,
      intervalMs: 50,
      description: `scan job of ${id} done`,
    });
  }

  async function nothingLeft(id: string): Promise<void> {
    expect(await scanner.messages.findById(id)).toBeNull();
    expect(await scanner.messages.recipientsFor(id)).toEqual([]);
    expect(await scanner.store.exists(id)).toBe(false);
    expect(await scanner.bus.queue('sign').getJob(jobIds.sign(id))).toBeUndefined();
    expect(await scanner.events(id)).toEqual([]);
  }

  it.each(['accepted', 'receiving'] as const)(
    'drops a message ingress refused (record %s) and removes what was written, without events',
    async (state) => {
      const id = newMessageId();
      expect(await verdicts.claim(id, 'refused')).toBe('refused');
      await scanner.submit(mail(), { id, state });
      await jobDone(id);
      await nothingLeft(id);
    },
  );

  it('claims the message before scanning it, and goes on when it holds the claim already (a re-run)', async () => {
    const first = await scanner.submit(mail());
    expect((await scanner.settled(first)).state).toBe('scanned');
    const key = acceptanceVerdictKey(scanner.prefix, first);
    expect(await redis.get(key)).toBe('taken');
    expect(await redis.ttl(key)).toBeGreaterThan(ACCEPTANCE_VERDICT_TTL_S.taken - 60);

    const rerun = newMessageId();
    expect(await verdicts.claim(rerun, 'taken')).toBe('taken');
    await scanner.submit(mail(), { id: rerun });
    expect((await scanner.settled(rerun)).state).toBe('scanned');
    // And ingress, coming later, finds the message taken: its answer is 250.
    expect(await verdicts.claim(rerun, 'refused')).toBe('taken');
  });
});
