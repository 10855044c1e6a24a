import type { RelayConfig } from '@ser/config';
import type { SignJob } from '@ser/contracts';
import type { Logger } from '@ser/logger';
import type { JobContext } from '@ser/queue';
import { CONFIG, JobProcessor, LOGGER } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import { SignMessageUseCase } from '../sign/sign-message.use-case';

@Injectable()
export class SignMessageProcessor extends JobProcessor<'sign'> {
  constructor(
    @Inject(CONFIG) config: RelayConfig,
    @Inject(LOGGER) logger: Logger,
    private readonly useCase: SignMessageUseCase,
  ) {
    super('sign', config, logger);
  }

  protected concurrency(): number {
    return this.config.SER_SIGNER_CONCURRENCY;
  }

  handle(job: SignJob, context: JobContext): Promise<void> {
    return this.useCase.execute(job.messageId, context);
  }
}
