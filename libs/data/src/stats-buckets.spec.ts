import { bucketRanges, dayOf, hourOf } from './stats-buckets';

const d = (iso: string): Date => new Date(iso);

describe('bucket arithmetic', () => {
  it('floors to the UTC hour and day', () => {
    expect(hourOf(d('2025-03-04T05:59:59.999Z'))).toEqual(d('2025-03-04T05:00:00Z'));
    expect(dayOf(d('2025-03-04T23:59:59.999Z'))).toEqual(d('2025-03-04T00:00:00Z'));
    expect(dayOf(d('2025-03-05T00:00:00Z'))).toEqual(d('2025-03-05T00:00:00Z'));
  });

  it('reads whole days from day buckets and the partial days at both ends from hour buckets', () => {
    expect(bucketRanges(d('2025-03-04T05:00:00Z'), d('2025-03-07T03:00:00Z'))).toEqual({
      days: { from: d('2025-03-05T00:00:00Z'), to: d('2025-03-07T00:00:00Z') },
      hours: [
        { from: d('2025-03-04T05:00:00Z'), to: d('2025-03-05T00:00:00Z') },
        { from: d('2025-03-07T00:00:00Z'), to: d('2025-03-07T03:00:00Z') },
      ],
    });
  });

  it('uses day buckets only for a period of whole days', () => {
    expect(bucketRanges(d('2025-03-01T00:00:00Z'), d('2025-04-01T00:00:00Z'))).toEqual({
      days: { from: d('2025-03-01T00:00:00Z'), to: d('2025-04-01T00:00:00Z') },
      hours: [],
    });
  });

  it('uses hour buckets only within one day or across one midnight without a whole day', () => {
    expect(bucketRanges(d('2025-03-04T05:00:00Z'), d('2025-03-04T09:00:00Z'))).toEqual({
      hours: [{ from: d('2025-03-04T05:00:00Z'), to: d('2025-03-04T09:00:00Z') }],
    });
    expect(bucketRanges(d('2025-03-04T22:00:00Z'), d('2025-03-05T02:00:00Z'))).toEqual({
      hours: [{ from: d('2025-03-04T22:00:00Z'), to: d('2025-03-05T02:00:00Z') }],
    });
    expect(bucketRanges(d('2025-03-04T05:00:00Z'), d('2025-03-04T05:00:00Z'))).toEqual({ hours: [] });
  });

  it('refuses periods that are not whole hours or end before they start', () => {
    expect(() => bucketRanges(d('2025-03-04T05:30:00Z'), d('2025-03-04T09:00:00Z'))).toThrow(RangeError);
    expect(() => bucketRanges(d('2025-03-04T05:00:00Z'), d('2025-03-04T09:00:01Z'))).toThrow(RangeError);
    expect(() => bucketRanges(d('2025-03-04T09:00:00Z'), d('2025-03-04T05:00:00Z'))).toThrow(RangeError);
    expect(() => bucketRanges(new Date(NaN), d('2025-03-04T05:00:00Z'))).toThrow(RangeError);
  });
});
