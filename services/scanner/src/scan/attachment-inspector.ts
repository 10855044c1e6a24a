import type { AttachmentFinding } from '@ser/data';
import { Injectable } from '@nestjs/common';
import { MailParser } from 'mailparser';
import type { AttachmentStream } from 'mailparser';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { blockedType } from '../policy/attachment-types';

/** Bytes of each attachment kept for the magic-number check; the rest is read and dropped. */
const HEAD_BYTES = 16;

/**
 * Finds the attachments of a blocked type. Parses the MIME structure as a stream: attachment
 * content passes through without being kept, so a 25 MiB message costs no more memory than a small one.
 */
@Injectable()
export class AttachmentInspector {
  async blocked(body: Readable, types: ReadonlySet<string>): Promise<AttachmentFinding[]> {
    const found: AttachmentFinding[] = [];
    const parser = new MailParser({ skipHtmlToText: true, skipTextToHtml: true, skipTextLinks: true });
    parser.on('data', (part: { type: string }) => {
      if (part.type === 'attachment') {
        void this.inspect(part as AttachmentStream, types, found);
      }
    });
    await pipeline(body, parser);
    return found;
  }

  private async inspect(
    attachment: AttachmentStream,
    types: ReadonlySet<string>,
    found: AttachmentFinding[],
  ): Promise<void> {
    const head: Buffer[] = [];
    let kept = 0;
    try {
      for await (const chunk of attachment.content) {
        if (kept < HEAD_BYTES) {
          const piece = (chunk as Buffer).subarray(0, HEAD_BYTES - kept);
          head.push(piece);
          kept += piece.length;
        }
      }
    } catch {
      // A broken part fails the parser too, and `blocked()` rejects with that error.
      return;
    } finally {
      attachment.release?.();
    }
    const type = blockedType(
      { filename: attachment.filename, contentType: attachment.contentType, head: Buffer.concat(head) },
      types,
    );
    if (type !== undefined) {
      found.push({
        ...(attachment.filename === undefined ? {} : { filename: attachment.filename }),
        contentType: attachment.contentType,
        type,
      });
    }
  }
}
