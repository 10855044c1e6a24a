import type { MessageState } from '@ser/contracts';
import type { TenantDocument } from '@ser/data';

/** Days a message is kept when its tenant sets no `retentionDays`. */
export const DEFAULT_RETENTION_DAYS = 30;
export const MAX_RETENTION_DAYS = 365;

const DAY_MS = 86_400_000;

/**
 * States of a message still moving through the pipeline: retention waits until it leaves them,
 * so a job never finds its record or body gone (`receiving` leftovers are the ingress sweeper's).
 */
export const IN_PIPELINE_STATES = [
  'receiving',
  'accepted',
  'scanned',
  'signed',
  'delivering',
] as const satisfies readonly MessageState[];

export function inPipeline(state: MessageState): boolean {
  return (IN_PIPELINE_STATES as readonly MessageState[]).includes(state);
}

/** Messages created before this time are past the tenant's retention. */
export function retentionCutoff(tenant: Pick<TenantDocument, 'retentionDays'> | null, now: number): Date {
  return new Date(now - (tenant?.retentionDays ?? DEFAULT_RETENTION_DAYS) * DAY_MS);
}
