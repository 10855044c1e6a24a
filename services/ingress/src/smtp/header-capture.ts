import { headerBlockEnd } from '@ser/mail';
import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';

const MAX_HEADER_BYTES = 256 * 1024;

/**
 * Passes the body through to the message store while keeping the header block for policy checks,
 * and stops passing data once the size limit is crossed, so an oversize message is read to the end
 * (as SMTP requires) but never stored whole.
 */
export class HeaderCapture extends Transform {
  bytes = 0;
  exceeded = false;
  private head: Buffer = Buffer.alloc(0);
  private headDone = false;

  constructor(private readonly maxBytes: number) {
    super();
  }

  get headerBlock(): string {
    const end = headerBlockEnd(this.head);
    return this.head.subarray(0, end === -1 ? this.head.length : end).toString('latin1');
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length;
    if (!this.headDone) {
      this.head = Buffer.concat([this.head, chunk]);
      this.headDone = headerBlockEnd(this.head) !== -1 || this.head.length >= MAX_HEADER_BYTES;
    }
    if (this.bytes > this.maxBytes) {
      this.exceeded = true;
      callback();
      return;
    }
    callback(null, chunk);
  }
}
