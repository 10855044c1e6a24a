import { GridFSBucket } from 'mongodb';
import type { Db } from 'mongodb';
import type { Readable } from 'node:stream';
import type { Writable } from 'node:stream';
import { finished } from 'node:stream/promises';

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
    // Failures reach us through the write callbacks and `finished`; without a listener an 'error'
    // event would be thrown as uncaught.
    upload.on('error', () => undefined);
    try {
      // Each write is awaited, rather than piped, so that no chunk insert is still in flight when a
      // failing source makes us clean up: a late insert would land after the delete, as an orphan.
      for await (const piece of body) {
        await writeTo(upload, piece as Buffer | string);
      }
      upload.end();
      await finished(upload);
    } catch (error) {
      upload.destroy();
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

function writeTo(stream: Writable, piece: Buffer | string): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.write(piece, (error) => (error ? reject(error) : resolve()));
  });
}

export const messageStoreIndexes = [
  { collection: `${MESSAGE_BUCKET}.files`, key: { filename: 1, uploadDate: 1 } },
  { collection: `${MESSAGE_BUCKET}.chunks`, key: { files_id: 1, n: 1 }, options: { unique: true } },
] as const;
