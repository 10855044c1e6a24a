import { nextAttempt } from './retry-schedule';

const MIN = 60_000;
const policy = { schedule: [5 * MIN, 10 * MIN, 30 * MIN], jitter: 0, maxAgeMs: 24 * 60 * MIN };
const accepted = new Date('2026-11-29T10:00:00Z');
const at = (minutes: number): Date => new Date(accepted.getTime() + minutes * MIN);

describe('nextAttempt', () => {
  it('follows the schedule, the last delay repeating', () => {
    expect(nextAttempt(policy, 1, accepted, at(0))).toEqual({ kind: 'retry', at: at(5) });
    expect(nextAttempt(policy, 2, accepted, at(5))).toEqual({ kind: 'retry', at: at(15) });
    expect(nextAttempt(policy, 3, accepted, at(15))).toEqual({ kind: 'retry', at: at(45) });
    expect(nextAttempt(policy, 9, accepted, at(300))).toEqual({ kind: 'retry', at: at(330) });
  });

  it('varies each delay by at most the jitter', () => {
    const jittery = { ...policy, jitter: 0.2 };
    expect(nextAttempt(jittery, 1, accepted, at(0), () => 0)).toEqual({ kind: 'retry', at: at(4) });
    expect(nextAttempt(jittery, 1, accepted, at(0), () => 1)).toEqual({ kind: 'retry', at: at(6) });
    expect(nextAttempt(jittery, 1, accepted, at(0), () => 0.5)).toEqual({ kind: 'retry', at: at(5) });
  });

  it('makes the last attempt at the end of the queue lifetime, then expires', () => {
    expect(nextAttempt(policy, 20, accepted, at(24 * 60 - 10))).toEqual({ kind: 'retry', at: at(24 * 60) });
    expect(nextAttempt(policy, 21, accepted, at(24 * 60))).toEqual({ kind: 'expired' });
    expect(nextAttempt(policy, 1, accepted, at(3 * 24 * 60))).toEqual({ kind: 'expired' });
  });
});
