import { MESSAGE_ID_PATTERN } from '@ser/contracts';
import { z } from 'zod';

export const QUARANTINE_PAGE_DEFAULT = 50;
export const QUARANTINE_PAGE_MAX = 200;

/** `GET /v1/quarantine`: one tenant's quarantined or held messages, a page after `cursor`. */
export const quarantineQuerySchema = z
  .object({
    tenantId: z.string().min(1).max(100),
    state: z.enum(['quarantined', 'held']).default('quarantined'),
    limit: z.coerce.number().int().min(1).max(QUARANTINE_PAGE_MAX).default(QUARANTINE_PAGE_DEFAULT),
    /** The last id of the previous page (its `nextCursor`). */
    cursor: z.string().regex(MESSAGE_ID_PATTERN, 'not a message id').optional(),
  })
  .strict();
export type QuarantineQuery = z.infer<typeof quarantineQuerySchema>;

/** Release, retry and delete take no options; no body or `{}`. */
export const messageActionSchema = z.object({}).strict();
