import type { RelayConfig, ServiceName } from '@ser/config';
import type { Logger } from '@ser/logger';
import { NestFactory } from '@nestjs/core';
import type { DynamicModule, INestApplicationContext } from '@nestjs/common';
import type { CoreOptions } from './core.module';
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
  stop(): Promise<void>;
}

/**
 * Starts the given services in this process, each in its own Nest context, as if they were
 * separate processes: they share nothing but the process (all-in-one mode).
 */
export async function startServices(
  definitions: readonly ServiceDefinition[],
  config: RelayConfig,
  logger: Logger,
): Promise<RunningServices> {
  const readiness = new Readiness();
  readiness.expect(definitions.map((d) => d.name));
  const contexts = new Map<ServiceName, INestApplicationContext>();
  const stop = async (): Promise<void> => {
    // Front door first: stop accepting mail before the workers behind it go away.
    for (const [name, context] of [...contexts.entries()].reverse()) {
      await context.close();
      logger.info({ code: 'RUNTIME_SERVICE_STOPPED', service: name }, 'service stopped');
    }
    contexts.clear();
  };
  try {
    for (const definition of definitions) {
      const module = definition.module({ config, service: definition.name, readiness, logger });
      const context = await startOne(definition, module, config);
      contexts.set(definition.name, context);
      readiness.markStarted(definition.name);
      logger.info({ code: 'RUNTIME_SERVICE_STARTED', service: definition.name }, 'service started');
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { readiness, contexts, stop };
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
