import type { HeaderField } from '@ser/mail';
import { headerValues, parseHeaderBlock } from '@ser/mail';

/**
 * `Precedence` values that mark mass mail. The field is not standardised, but mailing-list
 * software and autoresponders honour it (RFC 2076 §3.9; RFC 3834 §3.1.8 uses it to suppress
 * auto-replies to `bulk`, `list` and `junk`).
 */
const BULK_PRECEDENCE = new Set(['bulk', 'list', 'junk']);

/**
 * List header fields: their presence says the message went to a list (List-Unsubscribe, RFC 2369
 * §3.2 and RFC 8058; List-Id, RFC 2919). Alone they are not enough: a transactional message may
 * carry an unsubscribe link for one recipient, so they count only with many recipients.
 */
const LIST_FIELDS = ['List-Unsubscribe', 'List-Id'] as const;

/**
 * Whether a submitted message looks like bulk mail, which this relay does not carry (it is for
 * transactional mail only). Returns the reason, for the refusal or the flag, or undefined:
 * - `Precedence: <value>` for a Precedence field of `bulk`, `list` or `junk` (case-insensitive,
 *   trimmed; the value is given lowercase);
 * - `List-Unsubscribe with <n> recipients` or `List-Id with <n> recipients` when such a field is
 *   present and `recipientCount` exceeds `listRecipientThreshold`.
 *
 * The caller decides what to do with it (the application's `bulkPolicy`: reject or flag).
 */
export function detectBulk(
  headerBlock: string,
  recipientCount: number,
  listRecipientThreshold: number,
): string | undefined {
  const fields = parseHeaderBlock(headerBlock);
  return bulkPrecedence(fields) ?? listToMany(fields, recipientCount, listRecipientThreshold);
}

function bulkPrecedence(fields: readonly HeaderField[]): string | undefined {
  for (const value of headerValues(fields, 'Precedence')) {
    const precedence = value.trim().toLowerCase();
    if (BULK_PRECEDENCE.has(precedence)) {
      return `Precedence: ${precedence}`;
    }
  }
  return undefined;
}

function listToMany(
  fields: readonly HeaderField[],
  recipients: number,
  threshold: number,
): string | undefined {
  if (recipients <= threshold) {
    return undefined;
  }
  const field = LIST_FIELDS.find((name) => headerValues(fields, name).length > 0);
  return field === undefined ? undefined : `${field} with ${recipients} recipients`;
}
