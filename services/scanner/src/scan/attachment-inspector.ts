import type { AttachmentFinding } from '@ser/data';
import { Injectable } from '@nestjs/common';
import { MailParser } from 'mailparser';
import type { AttachmentStream } from 'mailparser';
import type { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { blockedType } from '../policy/attachment-types';

/** Bytes of each attachment kept for the magic-number check; the rest is read and dropped. */
const HEAD_BYTES = 16;
/** Attached messages (message/rfc822) are opened this deep; deeper ones count as their own type. */
const MAX_NESTED_MESSAGES = 3;

/**
 * Finds the attachments of a blocked type, also inside attached messages (a forwarded .eml).
 * Parses the MIME structure as a stream: attachment content passes through without being kept,
 * so a 25 MiB message costs no more memory than a small one.
 */
@Injectable()
export class AttachmentInspector {
  blocked(body: Readable, types: ReadonlySet<string>): Promise<AttachmentFinding[]> {
    return this.walk(body, types, 0);
  }

  private async walk(
    body: Readable,
    types: ReadonlySet<string>,
    depth: number,
  ): Promise<AttachmentFinding[]> {
    const found: AttachmentFinding[] = [];
    const parser = new MailParser({ skipHtmlToText: true, skipTextToHtml: true, skipTextLinks: true });
    parser.on('data', (part: { type: string }) => {
      if (part.type === 'attachment') {
        void this.inspect(part as AttachmentStream, types, depth, found);
      }
    });
    await pipeline(body, parser);
    return found;
  }

  /** The parser waits for `release()`, so whatever is pushed before it is in the result. */
  private async inspect(
    attachment: AttachmentStream,
    types: ReadonlySet<string>,
    depth: number,
    found: AttachmentFinding[],
  ): Promise<void> {
    try {
      if (attachment.contentType.toLowerCase() === 'message/rfc822' && depth < MAX_NESTED_MESSAGES) {
        found.push(...(await this.walk(attachment.content, types, depth + 1)));
        return;
      }
      const type = blockedType(
        {
          filename: attachment.filename,
          contentType: attachment.contentType,
          head: await head(attachment.content),
        },
        types,
      );
      if (type !== undefined) {
        found.push({
          ...(attachment.filename === undefined ? {} : { filename: attachment.filename }),
          contentType: attachment.contentType,
          type,
        });
      }
    } catch {
      // A broken part fails the parser too, and `blocked()` rejects with that error.
    } finally {
      attachment.release?.();
    }
  }
}

/** The first HEAD_BYTES of a stream, reading (and dropping) the rest. */
async function head(content: Readable): Promise<Buffer> {
  const pieces: Buffer[] = [];
  let kept = 0;
  for await (const chunk of content) {
    if (kept < HEAD_BYTES) {
      const piece = (chunk as Buffer).subarray(0, HEAD_BYTES - kept);
      pieces.push(piece);
      kept += piece.length;
    }
  }
  return Buffer.concat(pieces);
}
