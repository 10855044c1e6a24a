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
    // The job logger has the event's messageId already; the tenant comes with the event.
    const logger = context.logger.child({ tenantId: event.tenantId, appId: event.appId });
    context.logger = logger;
    const stored = await this.stats.record(event, metricsOf(event));
    const fields = { eventId: event.id, eventType: event.type };
    if (stored) {
      logger.debug({ code: 'REPORTING_EVENT_RECORDED', ...fields }, 'event recorded');
    } else {
      logger.debug({ code: 'REPORTING_EVENT_DUPLICATE', ...fields }, 'duplicate event ignored');
    }
  }
}
