import { z } from 'zod';

/** Event types: dotted past tense. Reports and the message timeline are built from these. */
export const EVENT_TYPES = [
  'session.connected',
  'session.refused',
  'auth.succeeded',
  'auth.failed',
  'envelope.refused',
  'message.refused',
  'message.flagged',
  'message.accepted',
  'message.scanned',
  'message.rejected_av',
  'message.rejected_spam',
  'message.rejected_policy',
  'message.quarantined',
  'message.held',
  'message.released',
  'message.retried',
  'message.deleted',
  'message.signed',
  'delivery.attempted',
  'delivery.succeeded',
  'delivery.deferred',
  'delivery.bounced',
  'delivery.expired',
  'delivery.suppressed',
  'delivery.dsn_sent',
] as const;
export type EventType = (typeof EVENT_TYPES)[number];

export const relayEventSchema = z
  .object({
    /** Unique and deterministic where the same fact may be emitted twice (`<messageId>.<stage>...`). */
    id: z.string().min(1).max(300),
    v: z.literal(1),
    type: z.enum(EVENT_TYPES),
    at: z.iso.datetime(),
    tenantId: z.string().min(1).optional(),
    appId: z.string().min(1).optional(),
    messageId: z.string().min(1).optional(),
    recipient: z.string().min(1).optional(),
    data: z.record(z.string(), z.unknown()).default({}),
  })
  .strict();

export type RelayEvent = z.infer<typeof relayEventSchema>;
export type RelayEventInput = z.input<typeof relayEventSchema>;
