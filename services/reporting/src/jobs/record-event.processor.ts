import type { RelayConfig } from '@ser/config';
import type { RelayEvent } from '@ser/contracts';
import type { Logger } from '@ser/logger';
import type { JobContext } from '@ser/queue';
import { CONFIG, JobProcessor, LOGGER } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import { RecordEventUseCase } from '../projection/record-event.use-case';

@Injectable()
export class RecordEventProcessor extends JobProcessor<'events'> {
  constructor(
    @Inject(CONFIG) config: RelayConfig,
    @Inject(LOGGER) logger: Logger,
    private readonly useCase: RecordEventUseCase,
  ) {
    super('events', config, logger);
  }

  protected concurrency(): number {
    return this.config.SER_REPORTING_CONCURRENCY;
  }

  handle(event: RelayEvent, context: JobContext): Promise<void> {
    return this.useCase.execute(event, context);
  }
}
