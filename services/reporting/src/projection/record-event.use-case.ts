import type { RelayEvent } from '@ser/contracts';
import { StatsRepository } from '@ser/data';
import type { JobContext } from '@ser/queue';
import { Injectable } from '@nestjs/common';
import { metricsOf } from './metrics';

/**
 * Stores an event once by its id and applies its statistics counters only when it was new
 * (exactly-once effect over at-least-once delivery; a crash in between is repaired by the settle
 * pass, see docs/reporting.md). The message timeline is read from the stored events.
 */
@Injectable()
export class RecordEventUseCase {
  constructor(private readonly stats: StatsRepository) {}

  async execute(event: RelayEvent, context: JobContext): Promise<void> {
    const stored = await this.stats.record(event, metricsOf(event));
    if (!stored) {
      context.logger.debug(
        { code: 'REPORTING_EVENT_DUPLICATE', eventId: event.id },
        'duplicate event ignored',
      );
    }
  }
}
