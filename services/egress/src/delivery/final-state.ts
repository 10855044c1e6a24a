import type { MessageState } from '@ser/contracts';
import type { RecipientDocument } from '@ser/data';

/** The message's final state once every recipient has one; undefined while any is still open. */
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
  return delivered === 0 ? 'bounced' : 'partially_delivered';
}
