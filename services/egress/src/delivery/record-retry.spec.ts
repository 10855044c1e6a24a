import { recordBackoffMs, retryUntil } from './record-retry';
import type { FailedTry, RetryClock } from './record-retry';

/** A clock that only moves when the code under test sleeps (or a try takes time). */
function fakeClock(): RetryClock & { slept: number[]; advance(ms: number): void } {
  let now = 0;
  const slept: number[] = [];
  return {
    slept,
    now: () => now,
    sleep: (ms) => {
      slept.push(ms);
      now += ms;
      return Promise.resolve();
    },
    advance: (ms) => {
      now += ms;
    },
  };
}

describe('recordBackoffMs', () => {
  it('starts at 100 ms and doubles up to 2 s', () => {
    const ceiling = (failedTries: number) => recordBackoffMs(failedTries, () => 1);
    expect([1, 2, 3, 4, 5, 6, 7, 50].map(ceiling)).toEqual([100, 200, 400, 800, 1600, 2000, 2000, 2000]);
  });

  it('leaves out a random part of at most half', () => {
    expect(recordBackoffMs(1, () => 0)).toBe(50);
    expect(recordBackoffMs(3, () => 0.5)).toBe(300);
    expect(recordBackoffMs(9, () => 0)).toBe(1000);
    for (let i = 0; i < 100; i += 1) {
      const delay = recordBackoffMs(4);
      expect(delay).toBeGreaterThanOrEqual(400);
      expect(delay).toBeLessThanOrEqual(800);
    }
  });
});

describe('retryUntil', () => {
  it('tries again after each failure until the write succeeds, telling it which try it is', async () => {
    const clock = fakeClock();
    const failures: FailedTry[] = [];
    const tries: number[] = [];

    const result = await retryUntil(
      10_000,
      (tryNumber) => {
        tries.push(tryNumber);
        return tryNumber < 4 ? Promise.reject(new Error(`down ${tryNumber}`)) : Promise.resolve('ok');
      },
      (failed) => failures.push(failed),
      clock,
    );

    expect(result).toBe('ok');
    expect(tries).toEqual([1, 2, 3, 4]);
    expect(failures.map((f) => [f.tryNumber, (f.error as Error).message])).toEqual([
      [1, 'down 1'],
      [2, 'down 2'],
      [3, 'down 3'],
    ]);
    expect(clock.slept).toEqual(failures.map((f) => f.retryInMs));
    expect(clock.slept[2]).toBeGreaterThanOrEqual(200);
    expect(clock.slept[2]).toBeLessThanOrEqual(400);
  });

  it('rethrows the last error once the deadline has passed, never pausing beyond it', async () => {
    const clock = fakeClock();
    let tries = 0;

    const failure = await retryUntil(
      3000,
      () => {
        tries += 1;
        return Promise.reject(new Error(`down ${tries}`));
      },
      () => undefined,
      clock,
    ).catch((error: unknown) => error);

    expect((failure as Error).message).toBe(`down ${tries}`);
    expect(clock.now()).toBe(3000);
    expect(tries).toBe(clock.slept.length + 1);
    expect(tries).toBeGreaterThan(3);
  });

  it('does not try again when the failed try itself ran past the deadline', async () => {
    const clock = fakeClock();
    let tries = 0;

    await expect(
      retryUntil(
        1000,
        () => {
          tries += 1;
          clock.advance(1500);
          return Promise.reject(new Error('timed out'));
        },
        () => undefined,
        clock,
      ),
    ).rejects.toThrow('timed out');
    expect(tries).toBe(1);
  });
});
