import { jobIds, MESSAGE_ID_PATTERN, newMessageId } from './ids';

describe('newMessageId', () => {
  it('matches MESSAGE_ID_PATTERN', () => {
    for (let i = 0; i < 200; i += 1) {
      expect(newMessageId()).toMatch(MESSAGE_ID_PATTERN);
    }
  });

  it('never uses the ambiguous letters i, l, o and u', () => {
    const all = Array.from({ length: 500 }, () => newMessageId()).join('');
    expect(all).not.toMatch(/[ilou]/);
  });

  it('encodes the time in the first 10 characters', () => {
    expect(newMessageId(0).slice(0, 10)).toBe('0000000000');
    expect(newMessageId(31).slice(0, 10)).toBe('000000000z');
    expect(newMessageId(32).slice(0, 10)).toBe('0000000010');
    const now = Date.UTC(2030, 0, 1);
    expect(newMessageId(now).slice(0, 10)).toBe(newMessageId(now).slice(0, 10));
  });

  it('sorts by time, as plain strings, across digit roll-overs', () => {
    const base = Date.UTC(2025, 5, 1, 12, 0, 0);
    const times = [
      0,
      1,
      31,
      32,
      33,
      1023,
      1024,
      base,
      base + 1,
      base + 31,
      base + 32,
      base + 86_400_000,
      2 ** 47,
    ];
    const ids = times.map((t) => newMessageId(t));
    const sorted = [...ids].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    expect(sorted).toEqual(ids);
  });

  it('sorts ids from increasing clock readings, whatever the random tail', () => {
    const start = Date.now();
    let previous = newMessageId(start);
    for (let ms = 1; ms <= 2000; ms += 1) {
      const next = newMessageId(start + ms);
      expect(next > previous).toBe(true);
      previous = next;
    }
  });

  it('is unique over 10,000 ids generated in the same millisecond', () => {
    const now = Date.now();
    const ids = new Set(Array.from({ length: 10_000 }, () => newMessageId(now)));
    expect(ids.size).toBe(10_000);
  });
});

describe('MESSAGE_ID_PATTERN', () => {
  it.each([
    ['too short', '0000000000abcdefghjkmnpqr'],
    ['too long', '0000000000abcdefghjkmnpqrst'],
    ['upper case', '0000000000ABCDEFGHJKMNPQRS'],
    ['an excluded letter', '0000000000abcdefghjkmnpqri'],
    ['a separator', '0000000000abcdefghjkmnpq:s'],
  ])('refuses an id %s', (_label, id) => {
    expect(MESSAGE_ID_PATTERN.test(id)).toBe(false);
  });
});

describe('jobIds', () => {
  it('derives stage job ids from the message id, deterministically', () => {
    const id = newMessageId();
    expect(jobIds.scan(id)).toBe(`${id}.scan`);
    expect(jobIds.sign(id)).toBe(`${id}.sign`);
    expect(jobIds.deliver(id, 'dest.test')).toBe(`${id}.deliver.dest.test`);
    expect(jobIds.deliver(id, 'dest.test')).toBe(jobIds.deliver(id, 'dest.test'));
  });

  it('gives each stage and each domain a distinct id', () => {
    const id = newMessageId();
    const all = [
      jobIds.scan(id),
      jobIds.sign(id),
      jobIds.deliver(id, 'a.test'),
      jobIds.deliver(id, 'b.test'),
    ];
    expect(new Set(all).size).toBe(all.length);
  });

  it('never contains ":" (BullMQ refuses it in custom job ids)', () => {
    for (let i = 0; i < 500; i += 1) {
      const id = newMessageId();
      for (const jobId of [jobIds.scan(id), jobIds.sign(id), jobIds.deliver(id, 'xn--bcher-kva.example')]) {
        expect(jobId).not.toContain(':');
      }
    }
  });
});
