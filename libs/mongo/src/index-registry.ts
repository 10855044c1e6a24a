import type { CreateIndexesOptions, Db, IndexSpecification } from 'mongodb';

export interface IndexDefinition {
  collection: string;
  key: IndexSpecification;
  options?: CreateIndexesOptions;
}

/** Creates every index a service needs at start-up; idempotent, awaited before serving. */
export async function ensureIndexes(db: Db, definitions: readonly IndexDefinition[]): Promise<void> {
  for (const definition of definitions) {
    await db.collection(definition.collection).createIndex(definition.key, definition.options ?? {});
  }
}
