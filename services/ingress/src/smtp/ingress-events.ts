import type { RelayEventInput } from '@ser/contracts';
import type { Logger } from '@ser/logger';
import type { EventPublisher } from '@ser/queue';
import { EVENTS, LOGGER } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';

type EventInput = Omit<RelayEventInput, 'v' | 'at'>;

/**
 * Publishes ingress events without holding up the SMTP reply: reporting is not on the path of a
 * submission. Shutdown waits for what is still in flight.
 */
@Injectable()
export class IngressEvents {
  private readonly pending = new Set<Promise<void>>();

  constructor(
    @Inject(EVENTS) private readonly events: EventPublisher,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  emit(event: EventInput): void {
    const publishing = this.events.tryPublish(event).then((published) => {
      if (!published) {
        const { messageId, tenantId, appId } = event;
        this.logger.warn(
          { code: 'INGRESS_EVENT_NOT_QUEUED', eventType: event.type, messageId, tenantId, appId },
          'event lost',
        );
      }
    });
    this.pending.add(publishing);
    void publishing.finally(() => this.pending.delete(publishing));
  }

  async flush(): Promise<void> {
    await Promise.allSettled([...this.pending]);
  }
}
