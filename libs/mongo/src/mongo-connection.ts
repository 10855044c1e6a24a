import { MongoClient } from 'mongodb';
import type { Db, WriteConcernSettings } from 'mongodb';

export interface MongoConnectionOptions {
  url: string;
  dbName: string;
  /** `majority` in production (replica set); `1` for a single node. Journaled either way. */
  writeConcern: 'majority' | '1';
  appName: string;
}

export interface MongoConnection {
  readonly client: MongoClient;
  readonly db: Db;
  ping(): Promise<void>;
  close(): Promise<void>;
}

export async function connectMongo(options: MongoConnectionOptions): Promise<MongoConnection> {
  const writeConcern: WriteConcernSettings = {
    w: options.writeConcern === 'majority' ? 'majority' : 1,
    journal: true,
  };
  const client = new MongoClient(options.url, {
    appName: options.appName,
    writeConcern,
    serverSelectionTimeoutMS: 5000,
    connectTimeoutMS: 5000,
    // Fail an operation rather than queue it forever when the database is gone, so ingress can
    // answer 451 in time (invariant 1).
    socketTimeoutMS: 30000,
  });
  await client.connect();
  const db = client.db(options.dbName);
  return {
    client,
    db,
    ping: async () => {
      await db.command({ ping: 1 });
    },
    close: () => client.close(),
  };
}
