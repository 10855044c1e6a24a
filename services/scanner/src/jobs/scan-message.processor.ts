import type { RelayConfig } from '@ser/config';
import type { ScanJob } from '@ser/contracts';
import type { Logger } from '@ser/logger';
import type { JobContext } from '@ser/queue';
import { CONFIG, JobProcessor, LOGGER } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import { ScanMessageUseCase } from '../scan/scan-message.use-case';

@Injectable()
export class ScanMessageProcessor extends JobProcessor<'scan'> {
  constructor(
    @Inject(CONFIG) config: RelayConfig,
    @Inject(LOGGER) logger: Logger,
    private readonly useCase: ScanMessageUseCase,
  ) {
    super('scan', config, logger);
  }

  protected concurrency(): number {
    return this.config.SER_SCANNER_CONCURRENCY;
  }

  handle(job: ScanJob, context: JobContext): Promise<void> {
    return this.useCase.execute(job.messageId, context);
  }
}
