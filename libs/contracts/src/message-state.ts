/** Lifecycle of a message (docs/architecture.md § Message lifecycle). */
export const MESSAGE_STATES = [
  'receiving',
  'accepted',
  'scanned',
  'signed',
  'delivering',
  'delivered',
  'partially_delivered',
  'bounced',
  'expired',
  'rejected_av',
  'rejected_spam',
  'rejected_policy',
  'quarantined',
  'held',
  'deleted',
] as const;
export type MessageState = (typeof MESSAGE_STATES)[number];

/** `expired`: still deferred when the queue lifetime ran out; `suppressed`: on the tenant's suppression list. */
export const RECIPIENT_STATES = [
  'pending',
  'delivered',
  'deferred',
  'bounced',
  'expired',
  'suppressed',
] as const;
export type RecipientState = (typeof RECIPIENT_STATES)[number];
