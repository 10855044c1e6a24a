import { relayEventSchema } from '@ser/contracts';
import type { RelayEvent, RelayEventInput } from '@ser/contracts';
import type { QueueBus } from './queue-bus';
import { eventReasonLabel, eventsMetric } from './queue-metrics';

/** Puts events on the events queue; the event id is the job id, so a re-emitted fact is a no-op. */
export class EventPublisher {
  private readonly published = eventsMetric();

  constructor(private readonly bus: QueueBus) {}

  async publish(input: Omit<RelayEventInput, 'v' | 'at'> & { at?: string }): Promise<RelayEvent> {
    const event = relayEventSchema.parse({ ...input, v: 1, at: input.at ?? new Date().toISOString() });
    await this.bus.enqueue('events', event, event.id);
    this.published.inc({ type: event.type, reason: eventReasonLabel(event.data) });
    return event;
  }

  /**
   * A message's one-time stage fact (`message.scanned`, `message.signed`...): its id is
   * `<messageId>.<stage>`, so a stage that runs again after a crash emits it only once. A stage
   * that an operator sends the message through again (a retried scan) passes the round, which
   * makes the id `<messageId>.<stage>.r<round>`.
   */
  async publishMessageStage(
    message: { _id: string; tenantId: string; appId: string },
    type: `message.${string}` & RelayEventInput['type'],
    data: Record<string, unknown>,
    round = 0,
  ): Promise<RelayEvent> {
    const suffix = round > 0 ? `.r${String(round)}` : '';
    return this.publish({
      id: `${message._id}.${type.slice('message.'.length)}${suffix}`,
      type,
      tenantId: message.tenantId,
      appId: message.appId,
      messageId: message._id,
      data,
    });
  }

  /**
   * For facts that must not hold up the caller (an SMTP reply waits on it): resolves false instead
   * of throwing when the event cannot be queued, so the caller can log it.
   */
  async tryPublish(input: Omit<RelayEventInput, 'v' | 'at'> & { at?: string }): Promise<boolean> {
    try {
      await this.publish(input);
      return true;
    } catch {
      return false;
    }
  }
}
