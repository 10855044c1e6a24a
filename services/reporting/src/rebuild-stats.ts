import { ConfigError, loadConfig } from '@ser/config';
import type { RelayConfig } from '@ser/config';
import { StatsRepository, statsIndexes } from '@ser/data';
import { createLogger } from '@ser/logger';
import { connectMongo, ensureIndexes } from '@ser/mongo';
import { metricsOf } from './projection/metrics';
import { rebuildableFrom } from './retention/retention-policy';

/**
 * `npm run reporting:rebuild`: recomputes the statistics buckets from the raw events (the same
 * configuration as the services), for the days whose raw events are still all kept
 * (SER_REPORTING_EVENT_RETENTION_DAYS); older buckets are left as they are. Safe while
 * reporting runs; scopes it could not settle because events were still arriving are left to the
 * settle pass (logged as `conflicts`).
 */
async function rebuildStats(): Promise<number> {
  let config: RelayConfig;
  try {
    config = loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(`${error.message}\n`);
      return 1;
    }
    throw error;
  }
  const logger = createLogger({ level: config.SER_LOG_LEVEL, pretty: config.SER_LOG_PRETTY });
  const mongo = await connectMongo({
    url: config.MONGO_URL,
    dbName: config.mongoDb,
    writeConcern: config.SER_MONGO_WRITE_CONCERN,
    appName: 'ser-reporting-rebuild',
  });
  try {
    await ensureIndexes(mongo.db, statsIndexes);
    const started = Date.now();
    // Only the days whose raw events are all still kept: older buckets are the only record left.
    const now = new Date();
    const coveredFrom = rebuildableFrom(now, config.SER_REPORTING_EVENT_RETENTION_DAYS);
    const result = await new StatsRepository(mongo.db).rebuild(metricsOf, now, undefined, coveredFrom);
    logger.info(
      { code: 'REPORTING_STATS_REBUILT', ...result, coveredFrom, durationMs: Date.now() - started },
      'statistics rebuilt from the raw events',
    );
    return 0;
  } finally {
    await mongo.close();
  }
}

rebuildStats().then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(
      `statistics rebuild failed: ${error instanceof Error ? error.message : String(error)}\n`,
    );
    process.exitCode = 1;
  },
);
