import type { RelayConfig } from '@ser/config';
import type { DeliverJob } from '@ser/contracts';
import type { Logger } from '@ser/logger';
import type { JobContext } from '@ser/queue';
import { CONFIG, JobProcessor, LOGGER } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import { DeliverMessageUseCase } from '../delivery/deliver-message.use-case';

@Injectable()
export class DeliverMessageProcessor extends JobProcessor<'deliver'> {
  constructor(
    @Inject(CONFIG) config: RelayConfig,
    @Inject(LOGGER) logger: Logger,
    private readonly useCase: DeliverMessageUseCase,
  ) {
    super('deliver', config, logger);
  }

  protected concurrency(): number {
    return this.config.SER_EGRESS_CONCURRENCY;
  }

  handle(job: DeliverJob, context: JobContext): Promise<void> {
    return this.useCase.execute(job.messageId, job.domain, context);
  }
}
