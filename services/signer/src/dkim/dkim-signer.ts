import { DkimSigner } from 'mailauth/lib/dkim/dkim-signer';
import type { ParsedHeaderLine } from 'mailauth/lib/dkim/dkim-signer';
import { generateCanonicalizedHeader } from 'mailauth/lib/dkim/header';
import { formatSignatureHeaderLine, writeToStream } from 'mailauth/lib/tools';
import { createHash, createPrivateKey, sign } from 'node:crypto';
import type { Readable } from 'node:stream';

/** Header fields signed when present (RFC 6376 §5.4.1's list, for transactional mail). */
export const SIGNED_HEADERS = [
  'from', 'sender', 'reply-to', 'subject', 'date', 'message-id', 'to', 'cc', 'mime-version',
  'content-type', 'content-transfer-encoding', 'content-disposition', 'in-reply-to', 'references',
  'list-id', 'list-unsubscribe', 'list-unsubscribe-post', 'feedback-id',
] as const; // prettier-ignore

/**
 * Signed once more than they occur (RFC 6376 §8.15): a verifier then finds a second instance
 * where there must be none, so a From or Subject added after signing breaks the signature.
 */
export const OVERSIGNED_HEADERS = ['from', 'subject'] as const;

/** relaxed/relaxed with SHA-256 and no `l=`: the whole body is signed. */
const CANONICALIZATION = 'relaxed/relaxed';
const BODY_HASH_KEY = 'relaxed:sha256:';

export interface SigningKey {
  domain: string;
  selector: string;
  /** PKCS#8 or PKCS#1 PEM, RSA or Ed25519. */
  privateKeyPem: string;
}

export class DkimSignatureError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DkimSignatureError';
  }
}

/**
 * The `h=` list and header lines of a signature: every present instance of a signed field,
 * bottom-up as a verifier selects them (RFC 6376 §5.4.2), then one more name per oversigned field.
 */
export function signingHeaderLines(parsed: readonly ParsedHeaderLine[]): {
  keys: string;
  headers: ParsedHeaderLine[];
} {
  const signed: readonly string[] = SIGNED_HEADERS;
  const headers = [...parsed].reverse().filter((h) => h.key !== null && signed.includes(h.key));
  const names = headers.map((h) => h.casedKey ?? h.key ?? '');
  for (const field of OVERSIGNED_HEADERS) {
    names.push(field.replace(/(^|-)[a-z]/g, (c) => c.toUpperCase()));
  }
  return { keys: names.join(': '), headers };
}

/**
 * mailauth's signer (its message parser, body hash and relaxed canonicalization) with the relay's
 * choice of signed headers: mailauth signs only the instances present, which cannot oversign.
 */
class OversigningDkimSigner extends DkimSigner {
  override finalize(): Promise<void> {
    if (this.headers === false) {
      return Promise.resolve();
    }
    const lines = signingHeaderLines(this.headers.parsed);
    const bodyHash = this.bodyHashes.get(BODY_HASH_KEY)?.hash ?? null;
    for (const data of this.signatureData) {
      try {
        const key = createPrivateKey(data.privateKey);
        const rsa = key.asymmetricKeyType === 'rsa';
        if (!rsa && key.asymmetricKeyType !== 'ed25519') {
          throw new DkimSignatureError(`unsupported key type ${String(key.asymmetricKeyType)}`);
        }
        const algorithm = rsa ? 'rsa-sha256' : 'ed25519-sha256';
        const { canonicalizedHeader, dkimHeaderOpts } = generateCanonicalizedHeader('DKIM', lines, {
          signingDomain: data.signingDomain,
          selector: data.selector,
          algorithm,
          canonicalization: CANONICALIZATION,
          bodyHash,
          signTime: this.signTime,
        });
        // RFC 8463: Ed25519 signs the SHA-256 of the canonicalized header, RSA signs it directly.
        const signature = rsa
          ? sign('sha256', canonicalizedHeader, key)
          : sign(null, createHash('sha256').update(canonicalizedHeader).digest(), key);
        this.signatureHeaders.push(
          formatSignatureHeaderLine('DKIM', { ...dkimHeaderOpts, b: signature.toString('base64') }, true),
        );
      } catch (err) {
        this.errors.push({ selector: data.selector, signingDomain: data.signingDomain, err: err as Error });
      }
    }
    return Promise.resolve();
  }
}

/** The DKIM-Signature header(s), one per key, CRLF-terminated; the body is read once, not kept. */
export async function dkimSignatures(
  message: Readable,
  keys: readonly SigningKey[],
  signTime = new Date(),
): Promise<string> {
  const signer = new OversigningDkimSigner({
    canonicalization: CANONICALIZATION,
    signTime,
    signatureData: keys.map((k) => ({
      signingDomain: k.domain,
      selector: k.selector,
      privateKey: k.privateKeyPem,
    })),
  });
  await writeToStream(signer, message);
  const failed = signer.errors[0];
  if (failed !== undefined || signer.signatureHeaders.length !== keys.length) {
    throw new DkimSignatureError(`DKIM signing failed for ${failed?.selector ?? 'a key'}`, {
      cause: failed?.err,
    });
  }
  return signer.signatureHeaders.map((h) => `${h}\r\n`).join('');
}
