import { isDeliverableAddress } from '@ser/mail';
import { z } from 'zod';
import { futureDateTime } from '../http/future-date-time';

export const SUPPRESSIONS_PAGE_DEFAULT = 50;
export const SUPPRESSIONS_PAGE_MAX = 200;

/**
 * A recipient mailbox as egress sees it: `local@domain`, dot-atom local part, DNS domain, lowercased
 * (the ledger lowercases recipients, and the list is looked up by that form).
 */
export const suppressedAddress = z
  .string()
  .trim()
  .toLowerCase()
  .refine(isDeliverableAddress, 'expected a mailbox address such as someone@example.com');

/** `POST /v1/tenants/{tenantId}/suppressions`: an operator's entry; no `expiresAt` means until removed. */
export const createSuppressionSchema = z
  .object({
    address: suppressedAddress,
    expiresAt: futureDateTime.optional(),
  })
  .strict();
export type CreateSuppressionInput = z.infer<typeof createSuppressionSchema>;

/** `GET /v1/tenants/{tenantId}/suppressions`: a page of entries after `cursor`, by address. */
export const suppressionsQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(SUPPRESSIONS_PAGE_MAX).default(SUPPRESSIONS_PAGE_DEFAULT),
    /** The last address of the previous page (its `nextCursor`). */
    cursor: suppressedAddress.optional(),
  })
  .strict();
