import type { ServiceName } from '@ser/config';
import type { Logger } from '@ser/logger';
import type { MongoConnection } from '@ser/mongo';
import type { QueueBus } from '@ser/queue';
import type { INestApplicationContext } from '@nestjs/common';
import type { Readiness } from './readiness';
import { MONGO, QUEUE_BUS } from './tokens';

/** Below Kubernetes' probe timeouts as usually set (a few seconds): a hung dependency is an answer. */
export const DEPENDENCY_TIMEOUT_MS = 2000;

export type DependencyName = 'mongo' | 'redis';
export type DependencyStatus = 'ok' | 'unavailable';

export interface ReadinessReport {
  ready: boolean;
  /** The `/readyz` body: names what failed, never a URL or an error text (they may hold credentials). */
  body: {
    status: 'ready' | 'not_ready';
    mongo: DependencyStatus;
    redis: DependencyStatus;
    servicesStarting: ServiceName[];
    stopping?: true;
  };
}

/** One dependency check of one service: its own connection, as its code uses it. */
export interface CheckResult {
  service: ServiceName;
  dependency: DependencyName;
  error?: unknown;
}

/** Pure: ready when every expected service started, every check passed, and the process is not stopping. */
export function readinessReport(
  servicesStarting: ServiceName[],
  results: readonly CheckResult[],
  stopping: boolean,
): ReadinessReport {
  const status = (dependency: DependencyName): DependencyStatus =>
    results.some((r) => r.dependency === dependency && r.error !== undefined) ? 'unavailable' : 'ok';
  const mongo = status('mongo');
  const redis = status('redis');
  const ready = servicesStarting.length === 0 && mongo === 'ok' && redis === 'ok' && !stopping;
  return {
    ready,
    body: {
      status: ready ? 'ready' : 'not_ready',
      mongo,
      redis,
      servicesStarting,
      ...(stopping ? { stopping: true as const } : {}),
    },
  };
}

/**
 * The readiness of this process: the started services (`Readiness`) and a MongoDB ping and a
 * Redis PING over each started service's own connections, each bounded by DEPENDENCY_TIMEOUT_MS.
 * Logs a dependency when it becomes unavailable and when it answers again, not on every probe.
 */
export class ProcessReadiness {
  private stopping = false;
  private readonly failing = new Set<string>();

  constructor(
    private readonly readiness: Readiness,
    private readonly contexts: ReadonlyMap<ServiceName, INestApplicationContext>,
    private readonly logger: Logger,
  ) {}

  /** From now on `/readyz` answers 503: the process is shutting down. */
  markStopping(): void {
    this.stopping = true;
  }

  async report(): Promise<ReadinessReport> {
    if (this.stopping) {
      // The connections are closing on purpose: nothing to check, nothing to log.
      return readinessReport(this.readiness.missing(), [], true);
    }
    const results = await Promise.all(
      [...this.contexts.entries()].flatMap(([service, context]) => [
        this.check(service, 'mongo', () => context.get<MongoConnection>(MONGO, { strict: false }).ping()),
        this.check(service, 'redis', () => context.get<QueueBus>(QUEUE_BUS, { strict: false }).ping()),
      ]),
    );
    results.forEach((result) => this.logChange(result));
    return readinessReport(this.readiness.missing(), results, this.stopping);
  }

  private async check(
    service: ServiceName,
    dependency: DependencyName,
    ping: () => Promise<void>,
  ): Promise<CheckResult> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new Error(`no answer within ${DEPENDENCY_TIMEOUT_MS} ms`)),
        DEPENDENCY_TIMEOUT_MS,
      );
    });
    try {
      await Promise.race([ping(), timeout]);
      return { service, dependency };
    } catch (error) {
      return { service, dependency, error };
    } finally {
      clearTimeout(timer);
    }
  }

  private logChange({ service, dependency, error }: CheckResult): void {
    const key = `${service}.${dependency}`;
    if (error !== undefined && !this.failing.has(key)) {
      this.failing.add(key);
      this.logger.warn(
        { code: 'RUNTIME_DEPENDENCY_UNAVAILABLE', service, dependency, err: error },
        'dependency unavailable: not ready',
      );
    } else if (error === undefined && this.failing.delete(key)) {
      this.logger.info(
        { code: 'RUNTIME_DEPENDENCY_AVAILABLE', service, dependency },
        'dependency answers again',
      );
    }
  }
}
