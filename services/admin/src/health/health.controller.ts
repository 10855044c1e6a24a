import type { MongoConnection } from '@ser/mongo';
import type { QueueBus } from '@ser/queue';
import { MONGO, QUEUE_BUS, READINESS } from '@ser/runtime';
import type { Readiness } from '@ser/runtime';
import { Controller, Get, Inject, Res } from '@nestjs/common';
import type { Response } from 'express';
import { Access } from '../auth/access.decorator';

/** `/healthz`: the process answers. `/readyz`: MongoDB and Redis answer and every local service started. */
@Controller()
export class HealthController {
  constructor(
    @Inject(MONGO) private readonly mongo: MongoConnection,
    @Inject(QUEUE_BUS) private readonly bus: QueueBus,
    @Inject(READINESS) private readonly readiness: Readiness,
  ) {}

  @Get('healthz')
  @Access('public')
  health() {
    return { status: 'ok' };
  }

  @Get('readyz')
  @Access('public')
  async ready(@Res() response: Response): Promise<void> {
    const checks = await Promise.allSettled([this.mongo.ping(), this.bus.ping()]);
    const missing = this.readiness.missing().filter((s) => s !== 'admin');
    const status = {
      mongo: checks[0]?.status === 'fulfilled' ? 'ok' : 'unavailable',
      redis: checks[1]?.status === 'fulfilled' ? 'ok' : 'unavailable',
      servicesStarting: missing,
    };
    const ok = status.mongo === 'ok' && status.redis === 'ok' && missing.length === 0;
    response.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not_ready', ...status });
  }
}
