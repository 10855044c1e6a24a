import { z } from 'zod';

export const TOKENS_PAGE_DEFAULT = 50;
export const TOKENS_PAGE_MAX = 200;

const tenantId = z.string().regex(/^ten_[A-Za-z0-9]{1,64}$/, 'not a tenant id');

/** `POST /v1/tokens`; strict, so nothing else (an id, a hash, a creator) can be set. */
export const createTokenSchema = z
  .object({
    name: z.string().trim().min(1).max(100),
    role: z.enum(['operator', 'tenant-admin', 'tenant-viewer']),
    tenantId: tenantId.optional(),
  })
  .strict();
export type CreateTokenInput = z.infer<typeof createTokenSchema>;

export const listTokensSchema = z
  .object({
    tenantId: tenantId.optional(),
    limit: z.coerce.number().int().min(1).max(TOKENS_PAGE_MAX).default(TOKENS_PAGE_DEFAULT),
    /** The last id of the previous page (its `nextCursor`). */
    cursor: z
      .string()
      .regex(/^tok_[A-Za-z0-9]{1,64}$/, 'not a token id')
      .optional(),
  })
  .strict();
