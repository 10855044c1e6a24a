/** Statistics are kept in UTC hour buckets; a period is widened to whole hours before it is read. */
export const HOUR_MS = 3_600_000;
export const DAY_MS = 24 * HOUR_MS;
/** The longest period one report may cover. */
export const MAX_PERIOD_DAYS = 400;

/** `from` inclusive, `to` exclusive, both on a UTC hour boundary. */
export interface ReportPeriod {
  from: Date;
  to: Date;
}

const DATE_ONLY = /^(\d{4})-(\d{2})-(\d{2})$/;
const LOCAL_DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/;

/** True for a time zone name the runtime knows (`Europe/Zurich`, `UTC`). */
export function isTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

/**
 * A date-only value (`2026-11-01`) is midnight in `tz`; a date-time without an offset is that wall
 * time in `tz`; a date-time with `Z` or an offset is that instant. Returns undefined when the text
 * is none of these (callers validate the format first) or names an impossible date.
 */
export function instantIn(value: string, tz: string): Date | undefined {
  const local = DATE_ONLY.exec(value) ?? LOCAL_DATE_TIME.exec(value);
  if (local === null) {
    const instant = new Date(value);
    return Number.isNaN(instant.getTime()) ? undefined : instant;
  }
  const [year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0] = local
    .slice(1)
    .map((part) => Number(part ?? 0));
  const wall = Date.UTC(year, month - 1, day, hour, minute, second);
  const check = new Date(wall);
  // Date.UTC maps years 0-99 to 1900-1999; no statistics predate 1970 anyway.
  const valid = year >= 1970 && check.getUTCMonth() === month - 1 && check.getUTCDate() === day;
  if (!valid || hour > 23 || minute > 59 || second > 59) {
    return undefined;
  }
  // The offset at the guessed instant can differ from the one at the answer across a DST change;
  // a second pass settles it (a wall time inside a spring-forward gap maps to just after it).
  const first = wall - offsetMs(wall, tz);
  return new Date(wall - offsetMs(first, tz));
}

/** How far the wall clock of `tz` is ahead of UTC at `instant`, in milliseconds. */
export function offsetMs(instant: number, tz: string): number {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    year: 'numeric',
    month: 'numeric',
    day: 'numeric',
    hour: 'numeric',
    minute: 'numeric',
    second: 'numeric',
  }).formatToParts(new Date(instant));
  const get = (type: Intl.DateTimeFormatPartTypes): number =>
    Number(parts.find((p) => p.type === type)?.value ?? 0);
  const wall = Date.UTC(get('year'), get('month') - 1, get('day'), get('hour'), get('minute'), get('second'));
  return wall - (instant - (((instant % 1000) + 1000) % 1000));
}

export const floorHour = (date: Date): Date => new Date(Math.floor(date.getTime() / HOUR_MS) * HOUR_MS);
export const ceilHour = (date: Date): Date => new Date(Math.ceil(date.getTime() / HOUR_MS) * HOUR_MS);

/**
 * The period of a report: the given bounds widened to whole UTC hours; `to` defaults to now and
 * `from` to 24 hours before `to`.
 */
export function reportPeriod(from: Date | undefined, to: Date | undefined, now: Date): ReportPeriod {
  const end = ceilHour(to ?? now);
  const start = floorHour(from ?? new Date(end.getTime() - DAY_MS));
  return { from: start, to: end };
}
