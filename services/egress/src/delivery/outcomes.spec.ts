import { isHardBounce, resultOf } from './outcomes';

const retry = { kind: 'retry', at: new Date('2026-11-29T12:00:00Z') } as const;

describe('resultOf', () => {
  it('maps reply classes to recipient states', () => {
    expect(resultOf({ code: 250, text: '2.0.0 ok' }, retry, false)).toEqual({
      state: 'delivered',
      reply: '250 2.0.0 ok',
    });
    expect(resultOf({ code: 550, text: '5.1.1 no such user' }, retry, false)).toEqual({
      state: 'bounced',
      reply: '550 5.1.1 no such user',
    });
    expect(resultOf({ code: 451, text: '4.3.0 try later' }, retry, true)).toEqual({
      state: 'deferred',
      reply: '451 4.3.0 try later',
      nextAttemptAt: retry.at,
      ambiguous: true,
    });
    expect(resultOf({ code: 451, text: '4.3.0 try later' }, { kind: 'expired' }, false)).toEqual({
      state: 'expired',
      reply: '451 4.3.0 try later',
      ambiguous: false,
    });
  });
});

describe('isHardBounce', () => {
  it('is a 5.1.x refusal only', () => {
    expect(isHardBounce({ code: 550, text: '5.1.1 user unknown' })).toBe(true);
    expect(isHardBounce({ code: 553, text: '5.1.10 null MX' })).toBe(true);
    expect(isHardBounce({ code: 552, text: '5.2.2 mailbox full' })).toBe(false);
    expect(isHardBounce({ code: 550, text: '5.7.1 rejected as spam' })).toBe(false);
    expect(isHardBounce({ code: 550, text: 'no such user' })).toBe(false);
    expect(isHardBounce({ code: 450, text: '4.1.1 try later' })).toBe(false);
  });
});
