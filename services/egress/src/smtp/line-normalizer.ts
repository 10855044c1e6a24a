import { Transform } from 'node:stream';
import type { TransformCallback } from 'node:stream';

const CR = 0x0d;
const LF = 0x0a;

/**
 * Turns every bare CR and bare LF into CRLF, so what egress sends has one reading only: no
 * `<LF>.<CR><LF>` or `<CR>.<CR>` that a receiver could take as the end of the message and the
 * start of another (SMTP smuggling). Ingress already refuses such input; this holds whatever is stored.
 */
export class SmtpLineNormalizer extends Transform {
  /** The previous chunk ended with CR: whether LF follows is only known with the next chunk. */
  private pendingCr = false;

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const parts: Buffer[] = [];
    let runStart = 0;
    let i = 0;
    if (this.pendingCr) {
      this.pendingCr = false;
      if (chunk[0] === LF) {
        i = 1; // the CR sent with the last chunk and this LF make one CRLF
      } else {
        parts.push(Buffer.from([LF]));
      }
    }
    for (; i < chunk.length; i += 1) {
      const byte = chunk[i];
      if (byte === CR) {
        if (i + 1 === chunk.length) {
          this.pendingCr = true;
        } else if (chunk[i + 1] === LF) {
          i += 1;
        } else {
          parts.push(chunk.subarray(runStart, i + 1), Buffer.from([LF]));
          runStart = i + 1;
        }
      } else if (byte === LF) {
        parts.push(chunk.subarray(runStart, i), Buffer.from([CR, LF]));
        runStart = i + 1;
      }
    }
    parts.push(chunk.subarray(runStart));
    callback(null, Buffer.concat(parts));
  }

  override _flush(callback: TransformCallback): void {
    callback(null, this.pendingCr ? Buffer.from([LF]) : undefined);
  }
}
