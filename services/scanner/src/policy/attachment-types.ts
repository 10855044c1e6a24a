/**
 * What an attachment is, from the three things a mail client or an operating system goes by: the
 * file name's extension, the declared content type, and the first bytes of the content (a renamed
 * executable still starts with its magic number).
 */
export interface AttachmentFacts {
  filename?: string;
  contentType: string;
  /** The first bytes of the decoded content (at least 4 when the content is that long). */
  head: Buffer;
}

/** Unicode format characters that make `invoice_exe.pdf` display from `invoice_fdp.exe` and the like. */
const INVISIBLE = /[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]/g;

const CONTENT_TYPES: Record<string, string> = {
  'application/x-msdownload': 'exe',
  'application/x-msdos-program': 'exe',
  'application/x-dosexec': 'exe',
  'application/vnd.microsoft.portable-executable': 'exe',
  'application/x-ms-installer': 'msi',
  'application/x-msi': 'msi',
  'application/x-ms-shortcut': 'lnk',
  'application/x-sh': 'sh',
  'application/x-shellscript': 'sh',
  'application/x-bat': 'bat',
  'application/hta': 'hta',
  'application/java-archive': 'jar',
  'application/x-java-archive': 'jar',
  'application/javascript': 'js',
  'text/javascript': 'js',
  'application/x-javascript': 'js',
  'text/vbscript': 'vbs',
  'application/x-vbscript': 'vbs',
  'application/x-powershell': 'ps1',
  'application/x-elf': 'elf',
  'application/x-executable': 'elf',
  'application/x-mach-binary': 'macho',
};

/** The lowercase extension the way Windows sees it: invisible characters, trailing dots and spaces gone. */
export function fileExtension(filename: string): string | undefined {
  const name = filename.replace(INVISIBLE, '').replace(/[.\s]+$/, '');
  const dot = name.lastIndexOf('.');
  if (dot < 0 || dot === name.length - 1) {
    return undefined;
  }
  return name.slice(dot + 1).toLowerCase();
}

/** Executable formats recognised by their magic number. */
export function magicType(head: Buffer): string | undefined {
  if (head.length >= 2 && head[0] === 0x4d && head[1] === 0x5a) {
    return 'exe'; // MZ: DOS/Windows PE
  }
  if (head.length >= 4 && head.readUInt32BE(0) === 0x7f454c46) {
    return 'elf';
  }
  if (head.length >= 4 && [0xfeedface, 0xfeedfacf, 0xcefaedfe, 0xcffaedfe].includes(head.readUInt32BE(0))) {
    return 'macho';
  }
  if (head.length >= 2 && head[0] === 0x23 && head[1] === 0x21) {
    return 'sh'; // #! interpreter line
  }
  return undefined;
}

/** Every type this attachment can be taken for, most specific first, without repeats. */
export function attachmentTypes(facts: AttachmentFacts): string[] {
  const types = [
    facts.filename === undefined ? undefined : fileExtension(facts.filename),
    CONTENT_TYPES[facts.contentType.toLowerCase()],
    magicType(facts.head),
  ];
  return [...new Set(types.filter((t): t is string => t !== undefined))];
}

/** The first of the attachment's types that the policy blocks, if any. */
export function blockedType(facts: AttachmentFacts, blocked: ReadonlySet<string>): string | undefined {
  return attachmentTypes(facts).find((t) => blocked.has(t));
}
