import { loadConfig } from '@ser/config';
import { uniqueName } from '@ser/testing';
import type { ObjectId } from 'mongodb';
import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { connectMongo, ensureIndexes, GridFsMessageStore, MESSAGE_BUCKET, messageStoreIndexes } from '../src';
import type { MongoConnection } from '../src';

const CHUNK = 255 * 1024; // GridFS default chunk size

/** The real FerretDB from MONGO_URL, in a database of this file's own. */
describe('GridFsMessageStore', () => {
  const { MONGO_URL } = loadConfig(process.env);
  const dbName = uniqueName('t');
  let mongo: MongoConnection;
  let store: GridFsMessageStore;

  beforeAll(async () => {
    mongo = await connectMongo({ url: MONGO_URL, dbName, writeConcern: '1', appName: 'mongo-int-spec' });
    await ensureIndexes(mongo.db, messageStoreIndexes);
    store = new GridFsMessageStore(mongo.db);
  });

  afterAll(async () => {
    await mongo?.db.dropDatabase();
    await mongo?.close();
  });

  const files = () => mongo.db.collection<{ _id: ObjectId; filename: string }>(`${MESSAGE_BUCKET}.files`);
  const chunks = () => mongo.db.collection<{ files_id: ObjectId; n: number }>(`${MESSAGE_BUCKET}.chunks`);

  /** Chunks whose file document is gone: what a failed or partial delete leaves behind. */
  async function orphanChunks(): Promise<number> {
    const ids = (
      await files()
        .find({}, { projection: { _id: 1 } })
        .toArray()
    ).map((f) => f._id);
    return chunks().countDocuments({ files_id: { $nin: ids } });
  }

  it('pings the database', async () => {
    await expect(mongo.ping()).resolves.toBeUndefined();
  });

  it('stores and reads back a 3 MB random body byte for byte, over many chunks', async () => {
    const name = uniqueName('msg');
    const body = randomBytes(3 * 1024 * 1024);
    // Uneven pieces, so that chunk boundaries do not line up with the source's writes.
    const pieces = [body.subarray(0, 1000), body.subarray(1000, 700_001), body.subarray(700_001)];

    const { size } = await store.put(name, Readable.from(pieces), { tenantId: 'ten_a' });

    expect(size).toBe(body.length);
    const file = await files().findOne({ filename: name });
    expect(file).not.toBeNull();
    expect(await chunks().countDocuments({ files_id: file!._id })).toBe(Math.ceil(body.length / CHUNK));
    const read = await store.read(name);
    expect(read.length).toBe(body.length);
    expect(createHash('sha256').update(read).digest('hex')).toBe(
      createHash('sha256').update(body).digest('hex'),
    );
    expect(read.equals(body)).toBe(true);
  });

  it('keeps the metadata and the message id with the file', async () => {
    const name = uniqueName('msg');
    await store.put(name, Readable.from([Buffer.from('Subject: x\r\n\r\nbody\r\n')]), { tenantId: 'ten_a' });
    const file = await mongo.db
      .collection<{ filename: string; metadata: Record<string, unknown> }>(`${MESSAGE_BUCKET}.files`)
      .findOne({ filename: name });
    expect(file?.metadata).toEqual({ tenantId: 'ten_a', messageId: name });
  });

  it('stores an empty body', async () => {
    const name = uniqueName('msg');
    await expect(store.put(name, Readable.from([]), {})).resolves.toEqual({ size: 0 });
    expect(await store.exists(name)).toBe(true);
    expect(await store.read(name)).toEqual(Buffer.alloc(0));
  });

  it('streams the body through open()', async () => {
    const name = uniqueName('msg');
    const body = randomBytes(CHUNK + 17);
    await store.put(name, Readable.from([body]), {});
    const parts: Buffer[] = [];
    for await (const part of store.open(name)) {
      parts.push(part as Buffer);
    }
    expect(Buffer.concat(parts).equals(body)).toBe(true);
  });

  it('reports whether a body exists', async () => {
    const name = uniqueName('msg');
    expect(await store.exists(name)).toBe(false);
    await store.put(name, Readable.from([Buffer.from('x')]), {});
    expect(await store.exists(name)).toBe(true);
    expect(await store.exists(uniqueName('other'))).toBe(false);
  });

  it('fails to read a body that was never stored', async () => {
    await expect(store.read(uniqueName('missing'))).rejects.toThrow();
  });

  it('deletes the file document and every chunk', async () => {
    const name = uniqueName('msg');
    await store.put(name, Readable.from([randomBytes(3 * CHUNK + 5)]), {});
    const file = await files().findOne({ filename: name });
    expect(await chunks().countDocuments({ files_id: file!._id })).toBe(4);

    await store.delete(name);

    expect(await store.exists(name)).toBe(false);
    expect(await files().countDocuments({ filename: name })).toBe(0);
    expect(await chunks().countDocuments({ files_id: file!._id })).toBe(0);
    await expect(store.read(name)).rejects.toThrow();
  });

  it('deletes nothing else, and deleting an unknown body is a no-op', async () => {
    const keep = uniqueName('keep');
    await store.put(keep, Readable.from([Buffer.from('keep me')]), {});
    await expect(store.delete(uniqueName('missing'))).resolves.toBeUndefined();
    expect((await store.read(keep)).toString()).toBe('keep me');
  });

  /** A source that yields `fullChunks` GridFS chunks of data, then fails. */
  function failingAfter(fullChunks: number, message: string): Readable {
    let reads = 0;
    return new Readable({
      read() {
        reads += 1;
        if (reads <= fullChunks) {
          this.push(randomBytes(CHUNK));
        } else {
          this.destroy(new Error(message));
        }
      },
    });
  }

  it('rejects put when the source fails midway and leaves neither file nor chunks behind', async () => {
    // Several failure points: the failure can arrive while the last full chunk is still being written.
    for (const fullChunks of [1, 2, 3, 4, 5]) {
      const name = uniqueName('msg');

      await expect(store.put(name, failingAfter(fullChunks, 'client went away'), {})).rejects.toThrow(
        'client went away',
      );

      expect(await store.exists(name)).toBe(false);
      expect(await files().countDocuments({ filename: name })).toBe(0);
      expect(await orphanChunks()).toBe(0);
    }
  });

  it('rejects put when the source fails before any data', async () => {
    const name = uniqueName('msg');
    const orphansBefore = await orphanChunks();
    const failing = new Readable({
      read() {
        this.destroy(new Error('no data'));
      },
    });
    await expect(store.put(name, failing, {})).rejects.toThrow('no data');
    expect(await store.exists(name)).toBe(false);
    expect(await orphanChunks()).toBe(orphansBefore);
  });

  it('ensureIndexes is idempotent and creates the unique chunk index', async () => {
    await ensureIndexes(mongo.db, messageStoreIndexes);
    await ensureIndexes(mongo.db, messageStoreIndexes);

    const chunkIndexes = await chunks().indexes();
    const unique = chunkIndexes.find((i) => JSON.stringify(i.key) === JSON.stringify({ files_id: 1, n: 1 }));
    expect(unique?.unique).toBe(true);
    expect(
      chunkIndexes.filter((i) => JSON.stringify(i.key) === JSON.stringify({ files_id: 1, n: 1 })),
    ).toHaveLength(1);
    const fileIndexes = await files().indexes();
    expect(
      fileIndexes.some((i) => JSON.stringify(i.key) === JSON.stringify({ filename: 1, uploadDate: 1 })),
    ).toBe(true);
  });
});
