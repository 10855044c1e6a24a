import { relayEventSchema } from '@ser/contracts';
import type { RelayEvent, RelayEventInput } from '@ser/contracts';
import type { QueueBus } from './queue-bus';

/** Puts events on the events queue; the event id is the job id, so a re-emitted fact is a no-op. */
export class EventPublisher {
  constructor(private readonly bus: QueueBus) {}

  async publish(input: Omit<RelayEventInput, 'v' | 'at'> & { at?: string }): Promise<RelayEvent> {
    const event = relayEventSchema.parse({ ...input, v: 1, at: input.at ?? new Date().toISOString() });
    await this.bus.enqueue('events', event, event.id);
    return event;
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
