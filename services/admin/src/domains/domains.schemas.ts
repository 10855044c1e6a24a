import { z } from 'zod';

export const DOMAINS_PAGE_DEFAULT = 50;
export const DOMAINS_PAGE_MAX = 200;

/** `GET /v1/tenants/{tenantId}/domains`: a page of the tenant's domains by name. */
export const domainsQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(DOMAINS_PAGE_MAX).default(DOMAINS_PAGE_DEFAULT),
    /** The last name of the previous page (its `nextCursor`). */
    cursor: z.string().min(1).max(253).optional(),
  })
  .strict();

/** Verification takes no options. */
export const verifyDomainSchema = z.object({}).strict();
