import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';

export interface TlsFiles {
  keyFile: string;
  certFile: string;
}

export interface TlsPair {
  key: Buffer;
  cert: Buffer;
  /** SHA-256 over key and certificate: tells a replaced pair from the loaded one. */
  digest: string;
}

/**
 * Reads the listener's key and certificate, and refuses a pair that TLS would not accept (a key
 * that does not match the certificate, a half-written file), so a bad replacement keeps the old pair.
 */
export function readTlsPair(files: TlsFiles): TlsPair {
  const key = readFileSync(files.keyFile);
  const cert = readFileSync(files.certFile);
  createSecureContext({ key, cert });
  const digest = createHash('sha256').update(key).update(cert).digest('hex');
  return { key, cert, digest };
}
