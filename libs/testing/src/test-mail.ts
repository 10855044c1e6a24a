import { randomBytes } from 'node:crypto';
import { crc32, deflateRawSync } from 'node:zlib';

/** The EICAR anti-virus test file (split so that this source file is not itself detected). */
export const EICAR = 'X5O!P%@AP[4\\PZX54(P^)7CC)7}$' + 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*';

/** SpamAssassin's Generic Test for Unsolicited Bulk Email: every anti-spam engine scores it as spam. */
export const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';

export interface TestAttachment {
  filename?: string;
  contentType: string;
  content: Buffer;
}

export interface TestMailOptions {
  from?: string;
  to?: string;
  subject: string;
  text?: string;
  html?: string;
  attachments?: TestAttachment[];
}

/**
 * A well-formed message the way a transactional sender writes one (Date, Message-ID, MIME): the
 * anti-spam engines judge its content, not missing headers. Attachments are base64 parts.
 */
export function testMail(options: TestMailOptions): string {
  const head =
    `From: ${options.from ?? 'Acme Shop <shop@acme.test>'}\r\n` +
    `To: ${options.to ?? 'customer@dest.test'}\r\n` +
    `Subject: ${options.subject}\r\n` +
    `Date: ${new Date().toUTCString().replace('GMT', '+0000')}\r\n` +
    `Message-ID: <${randomBytes(8).toString('hex')}@acme.test>\r\n` +
    'MIME-Version: 1.0\r\n';
  const parts: string[] = [];
  if (options.text !== undefined) {
    parts.push(
      `Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${options.text}\r\n`,
    );
  }
  if (options.html !== undefined) {
    parts.push(
      `Content-Type: text/html; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n${options.html}\r\n`,
    );
  }
  for (const a of options.attachments ?? []) {
    const name = a.filename === undefined ? '' : `; filename="${a.filename}"`;
    const base64 = a.content.toString('base64').replace(/.{1,76}/g, '$&\r\n');
    parts.push(
      `Content-Type: ${a.contentType}\r\nContent-Disposition: attachment${name}\r\n` +
        `Content-Transfer-Encoding: base64\r\n\r\n${base64}`,
    );
  }
  if (parts.length === 1 && options.attachments === undefined) {
    return head + (parts[0] ?? '');
  }
  const boundary = `b-${randomBytes(6).toString('hex')}`;
  return (
    `${head}Content-Type: multipart/mixed; boundary="${boundary}"\r\n\r\n` +
    parts.map((p) => `--${boundary}\r\n${p}`).join('') +
    `--${boundary}--\r\n`
  );
}

/**
 * A zip archive with its files deflated (method 8), as zip tools write them: the content does not
 * appear in the archive as is, so a scanner finds it only by unpacking.
 */
export function zipArchive(files: { name: string; content: Buffer }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const file of files) {
    const name = Buffer.from(file.name);
    const crc = crc32(file.content);
    const data = deflateRawSync(file.content);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed: 2.0 (deflate)
    local.writeUInt16LE(8, 8); // method: deflate
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(file.content.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 4);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(8, 10);
    central.writeUInt32LE(crc, 16);
    central.writeUInt32LE(data.length, 20);
    central.writeUInt32LE(file.content.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, data);
    centrals.push(central, name);
    offset += local.length + name.length + data.length;
  }
  const directory = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(files.length, 8);
  end.writeUInt16LE(files.length, 10);
  end.writeUInt32LE(directory.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, directory, end]);
}
