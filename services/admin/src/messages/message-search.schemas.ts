import { MESSAGE_ID_PATTERN, MESSAGE_STATES } from '@ser/contracts';
import { subjectHash } from '@ser/mail';
import { z } from 'zod';

export const SEARCH_PAGE_DEFAULT = 50;
export const SEARCH_PAGE_MAX = 200;

/** Configuration ids: their prefix and 24 hex digits (libs/data/src/ids.ts). */
const TENANT_ID = /^ten_[0-9a-f]{24}$/;
const APP_ID = /^app_[0-9a-f]{24}$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
/** An address as an exact-match key: one `@`, no spaces, control characters, quotes or brackets. */
const ADDRESS = /^[^\s@"<>()[\]\\,;:\p{Cc}]+@[^\s@"<>()[\]\\,;:\p{Cc}]+$/u;

export const messageId = z.string().regex(MESSAGE_ID_PATTERN, 'not a message id');

const isoDateTime = z.iso
  .datetime({ offset: true, error: 'expected an ISO 8601 date-time with Z or an offset' })
  .transform((value) => new Date(value));

const address = z.string().trim().toLowerCase().max(320).regex(ADDRESS, 'not an email address');

/**
 * `GET /v1/messages`: every parameter is a single string (a repeated or bracketed parameter is
 * refused), checked against its pattern before it reaches a query. `subject` is searched by its
 * hash (normalised as ingress stores it: RFC 2047 decoded, NFC, whitespace collapsed), so the
 * output carries `subjectHash` only; `sender` is lowercased and matches either case.
 */
export const messageSearchSchema = z
  .object({
    tenantId: z.string().regex(TENANT_ID, 'not a tenant id'),
    appId: z.string().regex(APP_ID, 'not an application id').optional(),
    status: z.enum(MESSAGE_STATES).optional(),
    from: isoDateTime.optional(),
    to: isoDateTime.optional(),
    sender: address.optional(),
    recipient: address.optional(),
    subject: z.string().min(1).max(998).optional(),
    subjectHash: z.string().toLowerCase().regex(SHA256_HEX, 'expected a SHA-256 in hex').optional(),
    messageId: messageId.optional(),
    limit: z.coerce.number().int().min(1).max(SEARCH_PAGE_MAX).default(SEARCH_PAGE_DEFAULT),
    /** The last id of the previous page (its `nextCursor`). */
    cursor: messageId.optional(),
  })
  .strict()
  .refine((q) => q.from === undefined || q.to === undefined || q.from <= q.to, {
    error: 'must not be after to',
    path: ['from'],
  })
  .refine(
    (q) => q.subject === undefined || q.subjectHash === undefined || subjectHash(q.subject) === q.subjectHash,
    { error: 'subject and subjectHash name different subjects', path: ['subject'] },
  )
  .transform(({ subject, ...q }) =>
    subject === undefined ? q : { ...q, subjectHash: subjectHash(subject) },
  );
export type MessageSearchInput = z.infer<typeof messageSearchSchema>;
