import { instantIn, reportPeriod } from './report-period';
import { summaryQuerySchema } from './reports.schemas';

const TENANT = 'ten_0123456789abcdef01234567';

describe('report period', () => {
  it('reads a date as midnight in the time zone, across DST and in half-hour zones', () => {
    expect(instantIn('2026-11-01', 'UTC')?.toISOString()).toBe('2026-11-01T00:00:00.000Z');
    expect(instantIn('2026-11-01', 'Europe/Zurich')?.toISOString()).toBe('2026-10-31T23:00:00.000Z');
    expect(instantIn('2026-07-01', 'Europe/Zurich')?.toISOString()).toBe('2026-06-30T22:00:00.000Z');
    expect(instantIn('2026-11-01', 'America/New_York')?.toISOString()).toBe('2026-11-01T04:00:00.000Z');
    expect(instantIn('2026-11-02', 'America/New_York')?.toISOString()).toBe('2026-11-02T05:00:00.000Z');
    expect(instantIn('2026-11-01', 'Asia/Kolkata')?.toISOString()).toBe('2026-10-31T18:30:00.000Z');
    expect(instantIn('2026-11-01T08:15', 'Asia/Tokyo')?.toISOString()).toBe('2026-10-31T23:15:00.000Z');
  });

  it('takes a date-time with an offset as that instant, and refuses impossible dates', () => {
    expect(instantIn('2026-11-01T08:00:00+02:00', 'Asia/Tokyo')?.toISOString()).toBe(
      '2026-11-01T06:00:00.000Z',
    );
    expect(instantIn('2026-02-30', 'UTC')).toBeUndefined();
    expect(instantIn('2026-11-01T24:00', 'UTC')).toBeUndefined();
    expect(instantIn('0099-01-01', 'UTC')).toBeUndefined();
  });

  it('widens to whole UTC hours and defaults to the last 24 hours', () => {
    const now = new Date('2026-11-29T10:20:00Z');
    expect(reportPeriod(undefined, undefined, now)).toEqual({
      from: new Date('2026-11-28T11:00:00Z'),
      to: new Date('2026-11-29T11:00:00Z'),
    });
    expect(reportPeriod(new Date('2026-10-31T18:30:00Z'), new Date('2026-11-01T18:30:00Z'), now)).toEqual({
      from: new Date('2026-10-31T18:00:00Z'),
      to: new Date('2026-11-01T19:00:00Z'),
    });
  });

  it('validates the whole query before anything is read', () => {
    const ok = summaryQuerySchema.parse({
      tenantId: TENANT,
      from: '2026-11-01',
      to: '2026-11-02',
      tz: 'Europe/Zurich',
    });
    expect(ok.period).toEqual({
      from: new Date('2026-10-31T23:00:00Z'),
      to: new Date('2026-11-01T23:00:00Z'),
    });
    const issues = (query: Record<string, unknown>) =>
      summaryQuerySchema.safeParse({ tenantId: TENANT, ...query }).error?.issues.map((i) => i.path.join('.'));
    expect(issues({ tenantId: { $ne: null } })).toEqual(['tenantId']);
    expect(issues({ appId: '{"$ne":null}' })).toEqual(['appId']);
    expect(issues({ tz: 'Mars/Olympus' })).toEqual(['tz']);
    expect(issues({ from: 'yesterday' })).toEqual(['from']);
    expect(issues({ from: '2026-11-02', to: '2026-11-01' })).toEqual(['from']);
    expect(issues({ from: '2025-01-01', to: '2026-11-01' })).toEqual(['to']);
    expect(issues({ from: '2025-10-01', to: '2026-11-05' })).toBeUndefined(); // 400 days
    expect(issues({ from: '2025-10-01', to: '2026-11-06' })).toEqual(['to']);
    expect(issues({ format: 'xml' })).toEqual(['format']);
    expect(issues({ extra: '1' })).toEqual(['']);
  });
});
