import { z } from 'zod';
import { MESSAGE_ID_PATTERN } from './ids';

/** Queue names: `ser.<stage>.v<major>`. A breaking payload change gets a new queue, never a rename. */
export const QUEUES = {
  scan: 'ser.scan.v1',
  sign: 'ser.sign.v1',
  deliver: 'ser.deliver.v1',
  events: 'ser.events.v1',
} as const;
export type QueueKey = keyof typeof QUEUES;

const messageId = z.string().regex(MESSAGE_ID_PATTERN, 'not a message id');

export const scanJobSchema = z.object({ v: z.literal(1), messageId }).strict();
export const signJobSchema = z.object({ v: z.literal(1), messageId }).strict();
export const deliverJobSchema = z
  .object({
    v: z.literal(1),
    messageId,
    /** Recipient domain, lowercase A-label; one job per message and domain. */
    domain: z.string().min(1).max(253),
  })
  .strict();

export type ScanJob = z.infer<typeof scanJobSchema>;
export type SignJob = z.infer<typeof signJobSchema>;
export type DeliverJob = z.infer<typeof deliverJobSchema>;
