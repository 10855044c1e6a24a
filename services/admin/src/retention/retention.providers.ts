import type { MongoConnection } from '@ser/mongo';
import { ensureIndexes } from '@ser/mongo';
import { MONGO } from '@ser/runtime';
import { MessageTombstoneRepository, messageTombstoneIndexes } from './message-tombstone.repository';
import { RetentionService } from './retention.service';

/** The retention job and the tombstones it leaves (indexes ensured before the service serves). */
export const retentionProviders = [
  {
    provide: MessageTombstoneRepository,
    useFactory: async (m: MongoConnection): Promise<MessageTombstoneRepository> => {
      await ensureIndexes(m.db, messageTombstoneIndexes);
      return new MessageTombstoneRepository(m.db);
    },
    inject: [MONGO],
  },
  RetentionService,
];
