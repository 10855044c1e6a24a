import { loadConfig, ConfigError } from '@ser/config';
import type { RelayConfig, ServiceName } from '@ser/config';
import { createLogger } from '@ser/logger';
import type { ServiceDefinition } from './service-runner';
import { startServices } from './service-runner';

/**
 * The body of every `main.ts`: validate config (print every problem, exit 1), start the selected
 * services, stop them cleanly on SIGTERM/SIGINT (Kubernetes rolling updates, Ctrl-C).
 */
export async function runMain(
  available: readonly ServiceDefinition[],
  select: (config: RelayConfig) => readonly ServiceName[],
): Promise<void> {
  let config: RelayConfig;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }
  const logger = createLogger({ level: config.SER_LOG_LEVEL, pretty: config.SER_LOG_PRETTY });
  const names = new Set(select(config));
  const definitions = available.filter((d) => names.has(d.name));
  const running = await startServices(definitions, config, logger).catch((error: unknown) => {
    logger.fatal({ code: 'RUNTIME_START_FAILED', err: error }, 'relay failed to start');
    process.exit(1);
  });
  logger.info({ code: 'RUNTIME_READY', services: [...names] }, 'relay started');
  let stopping = false;
  const shutdown = (signal: NodeJS.Signals): void => {
    if (stopping) {
      return;
    }
    stopping = true;
    logger.info({ code: 'RUNTIME_STOPPING', signal }, 'stopping');
    running.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ code: 'RUNTIME_STOP_FAILED', err: error }, 'stop failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', shutdown);
  process.on('SIGINT', shutdown);
}
