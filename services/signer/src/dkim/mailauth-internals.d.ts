// The parts of mailauth 4.x's DKIM signer the relay builds on (lib/dkim/*, lib/tools.js).
declare module 'mailauth/lib/dkim/dkim-signer' {
  import type { Writable } from 'node:stream';

  interface ParsedHeaderLine {
    key: string | null;
    casedKey: string | undefined;
    line: Buffer;
  }

  class DkimSigner extends Writable {
    constructor(options: {
      canonicalization?: string;
      algorithm?: string;
      signTime?: Date;
      signatureData: { signingDomain: string; selector: string; privateKey: string; algorithm?: string }[];
    });
    headers: { parsed: ParsedHeaderLine[]; original: Buffer } | false;
    bodyHashes: Map<string, { hash: string | null }>;
    signatureHeaders: string[];
    errors: { selector?: string; signingDomain?: string; err: Error }[];
    signTime: Date | undefined;
    signatureData: { signingDomain: string; selector: string; privateKey: string; algorithm?: string }[];
    finalize(): Promise<void>;
  }
  export { DkimSigner, ParsedHeaderLine };
}

declare module 'mailauth/lib/dkim/header' {
  import type { ParsedHeaderLine } from 'mailauth/lib/dkim/dkim-signer';

  function generateCanonicalizedHeader(
    type: 'DKIM',
    signingHeaderLines: { keys: string; headers: ParsedHeaderLine[] },
    options: {
      signingDomain: string;
      selector: string;
      algorithm: string;
      canonicalization: string;
      bodyHash: string | null;
      signTime?: Date;
    },
  ): { canonicalizedHeader: Buffer; dkimHeaderOpts: Record<string, unknown> };
  export { generateCanonicalizedHeader };
}

declare module 'mailauth/lib/tools' {
  function formatSignatureHeaderLine(type: 'DKIM', values: Record<string, unknown>, folded: boolean): string;
  function writeToStream(stream: NodeJS.WritableStream, input: NodeJS.ReadableStream): Promise<void>;
  export { formatSignatureHeaderLine, writeToStream };
}
