import { loadConfig } from '@ser/config';
import { connectMongo } from '@ser/mongo';
import type { MongoConnection } from '@ser/mongo';
import { uniqueName } from './unique-name';

/**
 * A connection to the real MongoDB API from MONGO_URL (FerretDB here), on a database of the
 * caller's own (a fresh one unless `dbName` names the database of a relay under test).
 */
export function connectTestDatabase(
  appName: string,
  dbName: string = uniqueName('t'),
): Promise<MongoConnection> {
  return connectMongo({ url: loadConfig().MONGO_URL, dbName, writeConcern: '1', appName });
}
