import type { RelayConfig } from '@ser/config';
import { MessageRepository } from '@ser/data';
import type { Logger } from '@ser/logger';
import type { QueueBus } from '@ser/queue';
import { CONFIG, LOGGER, QUEUE_BUS, StageJobReconciler } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';

/** Re-creates the sign job of a `scanned` message that Redis lost (invariant 2). */
@Injectable()
export class SignJobReconciler extends StageJobReconciler {
  constructor(
    @Inject(CONFIG) config: RelayConfig,
    @Inject(LOGGER) logger: Logger,
    @Inject(QUEUE_BUS) bus: QueueBus,
    messages: MessageRepository,
  ) {
    super(config, logger, bus, messages, 'sign');
  }
}
