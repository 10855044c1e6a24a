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
  'rejected_av',
  'rejected_spam',
  'rejected_policy',
  'quarantined',
  'held',
  'deleted',
] as const;
export type MessageState = (typeof MESSAGE_STATES)[number];

export const RECIPIENT_STATES = ['pending', 'delivered', 'deferred', 'bounced'] as const;
export type RecipientState = (typeof RECIPIENT_STATES)[number];
