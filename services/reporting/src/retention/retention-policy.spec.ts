import { keptFrom, rebuildableFrom, retentionCutoffs } from './retention-policy';

describe('reporting retention cutoffs', () => {
  const now = new Date('2026-03-31T23:59:59.999Z');

  it('keeps whole UTC days: today and the given number of days before it', () => {
    expect(keptFrom(now, 1)).toEqual(new Date('2026-03-30T00:00:00Z'));
    expect(keptFrom(new Date('2026-04-01T00:00:00Z'), 1)).toEqual(new Date('2026-03-31T00:00:00Z'));
    expect(keptFrom(now, 400)).toEqual(new Date('2025-02-24T00:00:00Z'));
  });

  it('cuts each kind of data at its own retention', () => {
    expect(
      retentionCutoffs(now, {
        SER_REPORTING_EVENT_RETENTION_DAYS: 35,
        SER_REPORTING_HOURLY_STATS_RETENTION_DAYS: 62,
        SER_REPORTING_STATS_RETENTION_DAYS: 400,
      }),
    ).toEqual({
      events: new Date('2026-02-24T00:00:00Z'),
      hourBuckets: new Date('2026-01-28T00:00:00Z'),
      dayBuckets: new Date('2025-02-24T00:00:00Z'),
    });
  });

  it('rewrites statistics only from the day after the event cutoff', () => {
    const from = rebuildableFrom(now, 35);
    expect(from).toEqual(new Date('2026-02-25T00:00:00Z'));
    // A replica whose clock is already past midnight purges one more day: still before `from`.
    expect(keptFrom(new Date(now.getTime() + 1), 35).getTime()).toBeLessThanOrEqual(from.getTime());
    // The smallest retention still lets the settle pass recompute yesterday.
    expect(rebuildableFrom(now, 2)).toEqual(new Date('2026-03-30T00:00:00Z'));
  });
});
