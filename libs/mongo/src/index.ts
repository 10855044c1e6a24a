export { connectMongo } from './mongo-connection';
export type { MongoConnection, MongoConnectionOptions } from './mongo-connection';
export { ensureIndexes } from './index-registry';
export type { IndexDefinition } from './index-registry';
export { GridFsMessageStore, MESSAGE_BUCKET, messageStoreIndexes } from './message-store';
export type { MessageStore } from './message-store';
