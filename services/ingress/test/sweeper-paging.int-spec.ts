import type { RelayConfig } from '@ser/config';
import { MessageRepository } from '@ser/data';
import type { MessageDocument } from '@ser/data';
import type { Logger } from '@ser/logger';
import { MESSAGE_BUCKET } from '@ser/mongo';
import type { MessageStore, MongoConnection } from '@ser/mongo';
import { CONFIG, LOGGER, MESSAGE_STORE, MONGO } from '@ser/runtime';
import type { Redis } from 'ioredis';
import { ObjectId } from 'mongodb';
import { ReceivingSweeperService } from '../src/index';
import { INGRESS_REDIS } from '../src/ingress.tokens';
import { SubmissionFixture } from './submission-fixture';

/** More than one default batch (500) of bodies that belong to messages, all older than any orphan. */
const OWNED = 510;

/**
 * The sweeper must find leftovers behind the bodies of messages that are kept (30 days of them is
 * normal), not only among the oldest batch.
 */
describe('ingress sweeper paging', () => {
  let fx: SubmissionFixture;
  let old: Date;
  let oldSeconds: string;

  /** A distinct ObjectId from before the sweep's cutoff; ids sort by `n`. */
  const oldId = (n: number): ObjectId => new ObjectId(oldSeconds + n.toString(16).padStart(16, '0'));

  const files = () => fx.db.collection(`${MESSAGE_BUCKET}.files`);
  const chunks = () => fx.db.collection(`${MESSAGE_BUCKET}.chunks`);

  function record(id: string, state: MessageDocument['state']): MessageDocument {
    return {
      _id: id,
      tenantId: 'ten_sweep',
      appId: 'app_sweep',
      credentialId: 'cred_sweep',
      envelope: { mailFrom: 'a@sweep.test', rcptTo: ['x@dest.test'] },
      headerFrom: 'a@sweep.test',
      fromDomain: 'sweep.test',
      size: 4,
      state,
      client: { ip: '127.0.0.1', tls: true },
      createdAt: old,
      updatedAt: old,
      expiresAt: new Date(Date.now() + 86_400_000),
    };
  }

  /** A body file (with one chunk) as GridFS writes it, uploaded at `uploadDate`. */
  async function body(n: number, filename: string, uploadDate: Date): Promise<void> {
    await files().insertOne({
      _id: oldId(n),
      filename,
      length: 4,
      chunkSize: 261_120,
      uploadDate,
      metadata: {},
    });
    await chunks().insertOne({ files_id: oldId(n), n: 0, data: Buffer.from('body') });
  }

  function sweeperOf(limits?: { batch: number; pages: number }): ReceivingSweeperService {
    const context = fx.ingress.running.contexts.get('ingress');
    if (context === undefined) {
      throw new Error('no ingress context');
    }
    if (limits === undefined) {
      return context.get(ReceivingSweeperService);
    }
    return new ReceivingSweeperService(
      context.get<symbol, RelayConfig>(CONFIG),
      context.get<symbol, Logger>(LOGGER),
      context.get<symbol, MongoConnection>(MONGO),
      context.get<symbol, MessageStore>(MESSAGE_STORE),
      context.get<symbol, Redis>(INGRESS_REDIS),
      context.get(MessageRepository),
      limits,
    );
  }

  beforeAll(async () => {
    fx = await SubmissionFixture.start({});
    old = new Date(Date.now() - fx.config.SER_INGRESS_SWEEP_GRACE_MS - 3_600_000);
    oldSeconds = Math.floor(old.getTime() / 1000)
      .toString(16)
      .padStart(8, '0');
    // Bodies of kept messages, each uploaded before any orphan (the former sweep read the oldest
    // 500 by upload date, and the first 500 chunk sets in storage order).
    const owned = Array.from({ length: OWNED }, (_, n) => n);
    await files().insertMany(
      owned.map((n) => ({
        _id: oldId(n),
        filename: `owned${n}`,
        length: 4,
        chunkSize: 261_120,
        uploadDate: new Date(old.getTime() - 60_000 + n),
        metadata: {},
      })),
    );
    await chunks().insertMany(owned.map((n) => ({ files_id: oldId(n), n: 0, data: Buffer.from('body') })));
    await fx.messages.messages.insertMany(owned.map((n) => record(`owned${n}`, 'accepted')));
  }, 60_000);

  afterAll(() => fx?.close());

  it('finds an orphan body and an orphan chunk set behind more than a batch of kept ones, and every stale record', async () => {
    await body(1000, 'orphanbody', old);
    await chunks().insertMany([0, 1].map((n) => ({ files_id: oldId(2000), n, data: Buffer.from('cut') })));
    const stale = Array.from({ length: 505 }, (_, n) => record(`stale${n}`, 'receiving'));
    await fx.messages.messages.insertMany(stale);

    expect(await sweeperOf().sweep()).toEqual({ records: 505, bodies: 1, chunkSets: 1 });
    expect(await fx.store.exists('orphanbody')).toBe(false);
    expect(await chunks().countDocuments({ files_id: oldId(2000) })).toBe(0);
    expect(await fx.messages.messages.countDocuments({ state: 'receiving' })).toBe(0);
    expect(await files().countDocuments({ filename: /^owned/ })).toBe(OWNED);
    expect(await fx.messages.messages.countDocuments({ state: 'accepted' })).toBe(OWNED);
  }, 60_000);

  it('goes on from where its previous pass stopped, and starts over after the end', async () => {
    await body(3000, 'lateorphan', old);
    const sweeper = sweeperOf({ batch: 100, pages: 2 });
    // 200 files a pass: the orphan (the last by id) comes up in the third pass.
    const stillThere = [];
    for (let pass = 0; pass < 3; pass += 1) {
      await sweeper.sweep();
      stillThere.push(await fx.store.exists('lateorphan'));
    }
    expect(stillThere).toEqual([true, true, false]);

    await body(3001, 'anotherorphan', old);
    await sweeper.sweep(); // from the start again: the first 200
    expect(await fx.store.exists('anotherorphan')).toBe(true);
    expect(await files().countDocuments({ filename: /^owned/ })).toBe(OWNED);
  }, 60_000);
});
