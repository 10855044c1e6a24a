import { toCharacterStrings, uniqueName, waitFor, WaitForTimeoutError } from '../src';

describe('waitFor', () => {
  it('resolves with the first value that is not undefined/null/false, including 0', async () => {
    let calls = 0;
    await expect(waitFor(() => (++calls < 3 ? undefined : 0), { intervalMs: 1 })).resolves.toBe(0);
    expect(calls).toBe(3);
  });

  it('keeps polling through errors and reports the last one on timeout', async () => {
    const failing = waitFor(
      () => {
        throw new Error('queue not ready');
      },
      { timeoutMs: 100, intervalMs: 10, description: 'the queue' },
    );
    await expect(failing).rejects.toThrow(
      /Timed out after 100 ms waiting for the queue .*last error: Error: queue not ready/,
    );
    await expect(failing).rejects.toBeInstanceOf(WaitForTimeoutError);
  });

  it('evaluates a description function at timeout time', async () => {
    let state = 'start';
    const pending = waitFor(() => false, {
      timeoutMs: 50,
      intervalMs: 5,
      description: () => `state=${state}`,
    });
    state = 'later';
    await expect(pending).rejects.toThrow(/state=later/);
  });

  it('does not let a hanging attempt stretch the deadline', async () => {
    const started = Date.now();
    const hanging = waitFor(() => new Promise<string>(() => undefined), { timeoutMs: 100 });
    await expect(hanging).rejects.toThrow(/Timed out after 100 ms/);
    expect(Date.now() - started).toBeLessThan(1000);
  });
});

describe('uniqueName', () => {
  it('produces short, distinct names made of [a-z0-9_] only', () => {
    const names = Array.from({ length: 1000 }, () => uniqueName('Egress:Queue-Test'));
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) {
      expect(name).toMatch(/^egress_queue_test_[a-z0-9]{10}$/);
      expect(name.length).toBeLessThan(64);
    }
  });

  it('falls back to a default prefix and truncates long ones', () => {
    expect(uniqueName(':::')).toMatch(/^t_[a-z0-9]{10}$/);
    expect(uniqueName('x'.repeat(100)).length).toBeLessThanOrEqual(35);
  });
});

describe('toCharacterStrings', () => {
  it('splits on 255-byte boundaries without cutting UTF-8 sequences', () => {
    const chunks = toCharacterStrings('a'.repeat(254) + 'é' + 'b');
    expect(chunks.map((c) => c.length)).toEqual([254, 3]);
    expect(Buffer.concat(chunks).toString('utf8')).toBe('a'.repeat(254) + 'éb');
  });

  it('keeps an empty string as one empty character-string', () => {
    expect(toCharacterStrings('')).toEqual([Buffer.alloc(0)]);
  });
});
