import { z } from 'zod';

/** Entries per answer; narrow `to` to the oldest `at` seen to read further back. */
export const AUDIT_PAGE = 100;

const isoDateTime = z.iso
  .datetime({ offset: true, error: 'expected an ISO 8601 date-time with Z or an offset' })
  .transform((value) => new Date(value));

export const auditQuerySchema = z
  .object({
    tenantId: z.string().min(1).max(100).optional(),
    from: isoDateTime.optional(),
    to: isoDateTime.optional(),
  })
  .strict()
  .refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, {
    error: 'must not be after to',
    path: ['from'],
  });
