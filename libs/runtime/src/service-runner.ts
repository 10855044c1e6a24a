import type { RelayConfig, ServiceName } from '@ser/config';
import type { Logger } from '@ser/logger';
import { NestFactory } from '@nestjs/core';
import type { DynamicModule, INestApplicationContext } from '@nestjs/common';
import { register } from 'prom-client';
import type { CoreOptions } from './core.module';
import { startOpsServer } from './ops-server';
import { ensureDefaultMetrics, watchServiceQueues } from './process-metrics';
import { ProcessReadiness } from './process-readiness';
import { Readiness } from './readiness';

/** How a service is started; `listen` is given for HTTP services (admin). */
export interface ServiceDefinition {
  name: ServiceName;
  module: (core: CoreOptions) => DynamicModule;
  http?: {
    port: (config: RelayConfig) => number;
    host: (config: RelayConfig) => string;
    /** Certificate and key to serve HTTPS instead of HTTP; undefined: plain HTTP. */
    tls?: (config: RelayConfig) => { cert: Buffer; key: Buffer } | undefined;
  };
}

export interface RunningServices {
  readonly readiness: Readiness;
  readonly contexts: ReadonlyMap<ServiceName, INestApplicationContext>;
  /** The bound port of the process's ops endpoint (`/healthz`, `/readyz`, `/metrics`). */
  readonly opsPort: number;
  stop(): Promise<void>;
}

/**
 * Starts the given services in this process, each in its own Nest context, as if they were
 * separate processes: they share nothing but the process (all-in-one mode). The ops endpoint
 * (SER_OPS_BIND:SER_OPS_PORT) listens first, so liveness answers while the services start, and
 * closes last, so it answers while they drain.
 */
export async function startServices(
  definitions: readonly ServiceDefinition[],
  config: RelayConfig,
  logger: Logger,
): Promise<RunningServices> {
  const readiness = new Readiness();
  readiness.expect(definitions.map((d) => d.name));
  const contexts = new Map<ServiceName, INestApplicationContext>();
  const probe = new ProcessReadiness(readiness, contexts, logger);
  ensureDefaultMetrics();
  const ops = await startOpsServer({
    host: config.SER_OPS_BIND,
    port: config.SER_OPS_PORT,
    readiness: () => probe.report(),
    registry: register,
    logger,
  });
  logger.info(
    { code: 'RUNTIME_OPS_LISTENING', host: config.SER_OPS_BIND, port: ops.port },
    'ops endpoint listening',
  );
  let unwatchQueues = (): void => undefined;
  const stop = async (): Promise<void> => {
    probe.markStopping();
    unwatchQueues();
    // Front door first: stop accepting mail before the workers behind it go away.
    for (const [name, context] of [...contexts.entries()].reverse()) {
      await context.close();
      logger.info({ code: 'RUNTIME_SERVICE_STOPPED', service: name }, 'service stopped');
    }
    contexts.clear();
    await ops.close();
  };
  try {
    for (const definition of definitions) {
      const module = definition.module({ config, service: definition.name, readiness, logger });
      const context = await startOne(definition, module, config);
      contexts.set(definition.name, context);
      readiness.markStarted(definition.name);
      logger.info({ code: 'RUNTIME_SERVICE_STARTED', service: definition.name }, 'service started');
    }
    unwatchQueues = watchServiceQueues(contexts);
  } catch (error) {
    await stop();
    throw error;
  }
  return { readiness, contexts, opsPort: ops.port, stop };
}

async function startOne(
  definition: ServiceDefinition,
  module: DynamicModule,
  config: RelayConfig,
): Promise<INestApplicationContext> {
  if (definition.http === undefined) {
    const context = await NestFactory.createApplicationContext(module, {
      logger: false,
      abortOnError: false,
    });
    await context.init();
    return context;
  }
  const httpsOptions = definition.http.tls?.(config);
  const app = await NestFactory.create(module, {
    logger: false,
    abortOnError: false,
    ...(httpsOptions === undefined ? {} : { httpsOptions }),
  });
  await app.listen(definition.http.port(config), definition.http.host(config));
  return app;
}
