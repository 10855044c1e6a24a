import { z } from 'zod';

/** An expiry in a request body: ISO 8601 with `Z` or an offset, in the future, as a Date. */
export const futureDateTime = z.iso
  .datetime({ offset: true, error: 'expected an ISO 8601 date-time with Z or an offset' })
  .transform((value) => new Date(value))
  .refine((date) => date.getTime() > Date.now(), 'must be in the future');
