import {
  capCounts,
  dayTargets,
  decodeField,
  encodeField,
  liveIncrements,
  OTHER_KEY,
  periodTargets,
  rollupId,
  RollupBuilder,
  sameCounts,
} from './stats-rollups';

const d = (iso: string) => new Date(iso);

describe('roll-up field names', () => {
  it('encodes every key into one safe field name and back', () => {
    const keys = [
      '',
      'a@b.example',
      '$where',
      'x.y.z',
      '100%',
      '~',
      '~~',
      'a\u0000b',
      '2001:db8::1',
      'Ünïcode',
    ];
    for (const key of keys) {
      const field = encodeField(key);
      expect(field).not.toMatch(/[.$]/);
      expect(field).not.toContain('\u0000');
      expect(field).not.toBe('~~');
      expect(decodeField(field)).toBe(key);
    }
    expect(encodeField('')).toBe('~');
    expect(encodeField('a.b')).toBe('a%2Eb');
    expect(new Set(keys.map(encodeField)).size).toBe(keys.length);
    expect(decodeField('~~')).toBe(OTHER_KEY);
  });
});

describe('capCounts', () => {
  it('keeps the highest keys per metric, ties by key, and sums the rest as the overflow', () => {
    const capped = capCounts(
      { failing_domain: { c: 1, a: 5, b: 1, d: 3, '~~': 2 }, accepted: { '~': 7 } },
      2,
    );
    expect(capped).toEqual({ failing_domain: { a: 5, d: 3, '~~': 4 }, accepted: { '~': 7 } });
  });

  it('leaves counts under the cap alone and drops zeros', () => {
    expect(capCounts({ held: { x: 1, y: 0 }, rejected: { z: 0 } }, 5)).toEqual({ held: { x: 1 } });
  });
});

describe('sameCounts', () => {
  it('ignores field order and zeros, and sees any difference in a count', () => {
    expect(sameCounts({ a: { x: 1, y: 2 } }, { a: { y: 2, x: 1, z: 0 } })).toBe(true);
    expect(sameCounts(undefined, {})).toBe(true);
    expect(sameCounts({ a: { x: 1 } }, { a: { x: 2 } })).toBe(false);
    expect(sameCounts({ a: { x: 1 } }, { b: { x: 1 } })).toBe(false);
    expect(sameCounts({ a: { x: 1 } }, undefined)).toBe(false);
  });
});

describe('roll-up targets', () => {
  it('names a day and its 24 hours', () => {
    const targets = dayTargets('ten_a', d('2025-03-04T17:00:00Z'));
    expect(targets).toHaveLength(25);
    expect(targets[0]).toEqual({
      _id: 'day/ten_a/2025-03-04T00:00:00.000Z',
      tenantId: 'ten_a',
      granularity: 'day',
      bucket: d('2025-03-04T00:00:00Z'),
      day: d('2025-03-04T00:00:00Z'),
    });
    expect(targets[24]?._id).toBe(rollupId('hour', 'ten_a', d('2025-03-04T23:00:00Z')));
  });

  it('answers a period with day roll-ups for whole days and hour roll-ups for the ends', () => {
    const ids = periodTargets('ten_a', d('2025-03-01T22:00:00Z'), d('2025-03-04T03:00:00Z')).map(
      (t) => t._id,
    );
    expect(ids).toEqual([
      'day/ten_a/2025-03-02T00:00:00.000Z',
      'day/ten_a/2025-03-03T00:00:00.000Z',
      'hour/ten_a/2025-03-01T22:00:00.000Z',
      'hour/ten_a/2025-03-01T23:00:00.000Z',
      'hour/ten_a/2025-03-04T00:00:00.000Z',
      'hour/ten_a/2025-03-04T01:00:00.000Z',
      'hour/ten_a/2025-03-04T02:00:00.000Z',
    ]);
    expect(periodTargets('ten_a', d('2025-03-01T00:00:00Z'), d('2025-03-31T00:00:00Z'))).toHaveLength(30);
    expect(periodTargets('ten_a', d('2025-03-01T05:00:00Z'), d('2025-03-01T05:00:00Z'))).toEqual([]);
  });
});

describe('RollupBuilder', () => {
  it('adds each counter to the hour and the day roll-up of its tenant, per application', () => {
    const builder = new RollupBuilder();
    const hour = d('2025-03-04T05:00:00Z');
    builder.add('ten_a', 'app_1', hour, [
      { metric: 'accepted', key: '' },
      { metric: 'sender_from', key: 'a@b.example' },
    ]);
    builder.add('ten_a', 'app_1', d('2025-03-04T06:00:00Z'), [{ metric: 'accepted', key: '' }]);
    builder.add('ten_a', '', hour, [{ metric: 'rejected', key: 'rate_limited' }]);
    builder.add('ten_a', 'app_1', hour, []);

    const dayId = rollupId('day', 'ten_a', d('2025-03-04T00:00:00Z'));
    expect(builder.countsOf(dayId, 'app_1')).toEqual({
      accepted: { '~': 2 },
      sender_from: { 'a@b%2Eexample': 1 },
    });
    expect(builder.countsOf(rollupId('hour', 'ten_a', hour), '')).toEqual({ rejected: { rate_limited: 1 } });
    expect(builder.countsOf(dayId, 'app_2')).toBeUndefined();

    const docs = builder.documents();
    expect(docs.map((doc) => doc._id).sort()).toEqual(
      [dayId, rollupId('hour', 'ten_a', hour), rollupId('hour', 'ten_a', d('2025-03-04T06:00:00Z'))].sort(),
    );
    const day = docs.find((doc) => doc._id === dayId);
    expect(day?.n).toEqual({ app_1: { accepted: 0, sender_from: 1 }, '~': { rejected: 1 } });
    expect(day?.v).toEqual({ app_1: 1, '~': 1 });
  });
});

describe('liveIncrements', () => {
  const accepted = [
    { metric: 'accepted', key: '' },
    { metric: 'sender_from', key: 'a@b.example' },
  ];

  it('adds to keyless counters and known keys, and counts a new key against the cap', () => {
    expect(liveIncrements('app_1', accepted, {})).toEqual({
      'v.app_1': 1,
      'a.app_1.accepted.~': 1,
      'a.app_1.sender_from.a@b%2Eexample': 1,
      'n.app_1.sender_from': 1,
    });
    expect(
      liveIncrements('app_1', accepted, {
        counts: { sender_from: { 'a@b%2Eexample': 3 } },
        held: { sender_from: 1 },
      }),
    ).toEqual({ 'v.app_1': 1, 'a.app_1.accepted.~': 1, 'a.app_1.sender_from.a@b%2Eexample': 1 });
  });

  it('sends a new key to the overflow once the application holds the cap', () => {
    const full = { counts: { sender_from: { 'x@y': 1, 'z@y': 1 } }, held: { sender_from: 2 } };
    expect(liveIncrements('', accepted, full, 2)).toEqual({
      'v.~': 1,
      'a.~.accepted.~': 1,
      'a.~.sender_from.~~': 1,
    });
    // A key already held still counts as itself.
    expect(liveIncrements('', [{ metric: 'sender_from', key: 'x@y' }], full, 2)).toEqual({
      'v.~': 1,
      'a.~.sender_from.x@y': 1,
    });
  });

  it('counts the new keys of one event against the cap too', () => {
    const two = [
      { metric: 'rejected', key: 'a' },
      { metric: 'rejected', key: 'b' },
      { metric: 'rejected', key: 'a' },
    ];
    expect(liveIncrements('app_1', two, { held: { rejected: 0 } }, 1)).toEqual({
      'v.app_1': 1,
      'a.app_1.rejected.a': 2,
      'n.app_1.rejected': 1,
      'a.app_1.rejected.~~': 1,
    });
  });
});
