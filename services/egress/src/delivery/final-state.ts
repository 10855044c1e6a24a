import type { MessageState } from '@ser/contracts';
import type { RecipientDocument } from '@ser/data';

/**
 * The message's final state once every recipient has one; undefined while any is still open.
 * Delivered to all: delivered; to some: partially_delivered; to none: expired when every
 * recipient ran out of time, else bounced (refused, suppressed, or a mix with expiries).
 */
export function finalMessageState(
  recipients: readonly Pick<RecipientDocument, 'state'>[],
): MessageState | undefined {
  if (recipients.length === 0 || recipients.some((r) => r.state === 'pending' || r.state === 'deferred')) {
    return undefined;
  }
  const delivered = recipients.filter((r) => r.state === 'delivered').length;
  if (delivered === recipients.length) {
    return 'delivered';
  }
  if (delivered > 0) {
    return 'partially_delivered';
  }
  return recipients.every((r) => r.state === 'expired') ? 'expired' : 'bounced';
}
