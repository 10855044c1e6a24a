import type { RelayEvent } from '@ser/contracts';
import { EventRepository } from '@ser/data';
import type { JobContext } from '@ser/queue';
import { Injectable } from '@nestjs/common';

/**
 * Stores an event once by its id (exactly-once effect over at-least-once delivery). The message
 * timeline is read from these events; statistics projections follow in the reporting issue.
 */
@Injectable()
export class RecordEventUseCase {
  constructor(private readonly events: EventRepository) {}

  async execute(event: RelayEvent, context: JobContext): Promise<void> {
    const stored = await this.events.record(event);
    if (!stored) {
      context.logger.debug(
        { code: 'REPORTING_EVENT_DUPLICATE', eventId: event.id },
        'duplicate event ignored',
      );
    }
  }
}
