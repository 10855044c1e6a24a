import type { DkimAlgorithm } from '@ser/data';
import { createPrivateKey } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import { materialOf } from './dkim-key-material';
import type { DkimKeyMaterial } from './dkim-key-material';

/** RFC 8301 §3.2: signers MUST use at least 1024 bits, SHOULD use 2048; verifiers handle up to 4096. */
export const RSA_IMPORT_MIN_BITS = 1024;
export const RSA_RECOMMENDED_BITS = 2048;
export const RSA_IMPORT_MAX_BITS = 4096;

export interface ImportedDkimKey extends DkimKeyMaterial {
  /** Accepted, but worth telling the operator (a key below the recommended size). */
  warnings: string[];
}

/** Why a PEM cannot be imported; the message is safe to return (it never quotes the key). */
export class DkimKeyImportError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'DkimKeyImportError';
  }
}

const ENCRYPTED = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type:\s*4,\s*ENCRYPTED/;
const PRIVATE_KEY_PEM = /-----BEGIN (?:RSA )?PRIVATE KEY-----/;

/**
 * Reads an operator's private key: PEM, PKCS#8 (`BEGIN PRIVATE KEY`) or PKCS#1 (`BEGIN RSA PRIVATE
 * KEY`), RSA or Ed25519, of the algorithm the request names. Re-encoded as PKCS#8 for storage.
 */
export function importDkimKey(algorithm: DkimAlgorithm, pem: string): ImportedDkimKey {
  if (ENCRYPTED.test(pem)) {
    throw new DkimKeyImportError(
      'the private key is encrypted (passphrase-protected); import it unencrypted, e.g. `openssl pkey -in key.pem`',
    );
  }
  if (!PRIVATE_KEY_PEM.test(pem)) {
    throw new DkimKeyImportError(
      'not a PEM private key: expected -----BEGIN PRIVATE KEY----- (PKCS#8) or -----BEGIN RSA PRIVATE KEY----- (PKCS#1)',
    );
  }
  const key = readPrivateKey(pem);
  const type = key.asymmetricKeyType;
  if (type !== 'rsa' && type !== 'ed25519') {
    throw new DkimKeyImportError(`${type ?? 'unknown'} keys cannot sign DKIM: expected rsa or ed25519`);
  }
  if (type !== algorithm) {
    throw new DkimKeyImportError(`the private key is ${type}, not ${algorithm}`);
  }
  const material = materialOf(key);
  return { ...material, warnings: material.bits === undefined ? [] : rsaSizeWarnings(material.bits) };
}

function readPrivateKey(pem: string): KeyObject {
  try {
    return createPrivateKey({ key: pem, format: 'pem' });
  } catch (error) {
    // OpenSSL's message says nothing useful to an operator and may echo input: not passed on.
    throw new DkimKeyImportError('the PEM does not hold a readable private key', { cause: error });
  }
}

function rsaSizeWarnings(bits: number): string[] {
  if (bits < RSA_IMPORT_MIN_BITS) {
    throw new DkimKeyImportError(
      `RSA key of ${bits} bits: at least ${RSA_IMPORT_MIN_BITS} are required (RFC 8301)`,
    );
  }
  if (bits > RSA_IMPORT_MAX_BITS) {
    throw new DkimKeyImportError(
      `RSA key of ${bits} bits: at most ${RSA_IMPORT_MAX_BITS}, the largest verifiers must support (RFC 8301)`,
    );
  }
  return bits < RSA_RECOMMENDED_BITS
    ? [`RSA key of ${bits} bits: below the recommended ${RSA_RECOMMENDED_BITS}`]
    : [];
}
