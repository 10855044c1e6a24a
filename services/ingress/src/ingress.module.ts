import type { RelayConfig } from '@ser/config';
import { createRedis } from '@ser/queue';
import { CONFIG, CoreModule } from '@ser/runtime';
import type { CoreOptions } from '@ser/runtime';
import { Inject, Injectable, Module } from '@nestjs/common';
import type { DynamicModule, OnApplicationShutdown } from '@nestjs/common';
import type { Redis } from 'ioredis';
import { INGRESS_REDIS } from './ingress.tokens';
import { admissionControlProvider } from './limits/admission-control';
import { AuthLockout } from './limits/auth-lockout';
import { ConnectionTracker } from './limits/connection-tracker';
import { RateLimiter } from './limits/rate-limiter';
import { IngressMetrics } from './metrics/ingress-metrics';
import { AcceptMessageUseCase } from './smtp/accept-message.use-case';
import { ApplicationDirectory } from './smtp/application-directory';
import { AuthenticateUseCase } from './smtp/authenticate.use-case';
import { IngressEvents } from './smtp/ingress-events';
import { SessionRegistry } from './smtp/session-registry';
import { SmtpListenerService } from './smtp/smtp-listener.service';
import { SubmissionHandlers } from './smtp/submission-handlers';
import { ReceivingSweeperService } from './sweeper/receiving-sweeper.service';

/** Closes the ingress's Redis connection after the listeners have drained. */
@Injectable()
class IngressRedisShutdown implements OnApplicationShutdown {
  constructor(@Inject(INGRESS_REDIS) private readonly redis: Redis) {}

  async onApplicationShutdown(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

@Module({})
export class IngressModule {
  static register(core: CoreOptions): DynamicModule {
    return {
      module: IngressModule,
      imports: [CoreModule.forRoot(core)],
      providers: [
        {
          provide: INGRESS_REDIS,
          useFactory: (config: RelayConfig) => {
            const redis = createRedis(config.REDIS_URL, 'producer');
            // Failures surface through rejected commands (454/451 replies); reconnects are silent.
            redis.on('error', () => undefined);
            return redis;
          },
          inject: [CONFIG],
        },
        {
          provide: AuthLockout,
          useFactory: (redis: Redis, config: RelayConfig) =>
            new AuthLockout(redis, config.SER_QUEUE_PREFIX, {
              failuresPerIp: config.SER_INGRESS_AUTH_FAILURES_PER_IP,
              failuresPerUser: config.SER_INGRESS_AUTH_FAILURES_PER_USER,
              windowSeconds: config.SER_INGRESS_AUTH_FAILURE_WINDOW_S,
              lockoutSeconds: config.SER_INGRESS_AUTH_LOCKOUT_S,
            }),
          inject: [INGRESS_REDIS, CONFIG],
        },
        {
          provide: RateLimiter,
          useFactory: (redis: Redis, config: RelayConfig) => new RateLimiter(redis, config.SER_QUEUE_PREFIX),
          inject: [INGRESS_REDIS, CONFIG],
        },
        admissionControlProvider,
        { provide: ConnectionTracker, useValue: new ConnectionTracker() },
        { provide: SessionRegistry, useValue: new SessionRegistry() },
        IngressRedisShutdown,
        IngressMetrics,
        IngressEvents,
        ApplicationDirectory,
        AuthenticateUseCase,
        AcceptMessageUseCase,
        SubmissionHandlers,
        SmtpListenerService,
        ReceivingSweeperService,
      ],
      exports: [SmtpListenerService, ReceivingSweeperService],
    };
  }
}
