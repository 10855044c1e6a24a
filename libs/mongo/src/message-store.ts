import { GridFSBucket } from 'mongodb';
import type { Db } from 'mongodb';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** Where message bodies live; jobs carry ids only. An S3 implementation can follow this interface. */
export interface MessageStore {
  /** Stores the body under `messageId`; resolves once the write is acknowledged. */
  put(messageId: string, body: Readable, metadata: Record<string, unknown>): Promise<{ size: number }>;
  open(messageId: string): Readable;
  read(messageId: string): Promise<Buffer>;
  delete(messageId: string): Promise<void>;
  exists(messageId: string): Promise<boolean>;
}

export const MESSAGE_BUCKET = 'bodies';

export class GridFsMessageStore implements MessageStore {
  private readonly bucket: GridFSBucket;

  constructor(private readonly db: Db) {
    this.bucket = new GridFSBucket(db, { bucketName: MESSAGE_BUCKET });
  }

  async put(messageId: string, body: Readable, metadata: Record<string, unknown>): Promise<{ size: number }> {
    const upload = this.bucket.openUploadStream(messageId, { metadata: { ...metadata, messageId } });
    try {
      await pipeline(body, upload);
    } catch (error) {
      await this.deleteFile(upload.id).catch(() => undefined);
      throw error;
    }
    return { size: upload.length };
  }

  open(messageId: string): Readable {
    // Revision -1 is the newest upload; a message id is uploaded once, but a retried upload after a
    // crash may leave an older one that the sweeper removes.
    return this.bucket.openDownloadStreamByName(messageId, { revision: -1 });
  }

  async read(messageId: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const chunk of this.open(messageId)) {
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks);
  }

  async exists(messageId: string): Promise<boolean> {
    const file = await this.db
      .collection(`${MESSAGE_BUCKET}.files`)
      .findOne({ filename: messageId }, { projection: { _id: 1 } });
    return file !== null;
  }

  async delete(messageId: string): Promise<void> {
    const files = await this.bucket.find({ filename: messageId }, { projection: { _id: 1 } }).toArray();
    for (const file of files) {
      await this.deleteFile(file._id);
    }
  }

  private async deleteFile(id: unknown): Promise<void> {
    await this.bucket.delete(id as Parameters<GridFSBucket['delete']>[0]);
  }
}

export const messageStoreIndexes = [
  { collection: `${MESSAGE_BUCKET}.files`, key: { filename: 1, uploadDate: 1 } },
  { collection: `${MESSAGE_BUCKET}.chunks`, key: { files_id: 1, n: 1 }, options: { unique: true } },
] as const;
