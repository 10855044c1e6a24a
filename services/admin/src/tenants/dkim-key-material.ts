import { createPublicKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import type { KeyObject } from 'node:crypto';
import type { DkimAlgorithm } from '@ser/data';

export interface DkimKeyMaterial {
  publicKey: string;
  privateKeyPem: string;
  /** RSA modulus length; absent for Ed25519. */
  bits?: number;
}

export const RSA_KEY_SIZES = [2048, 3072, 4096] as const;
export type RsaKeySize = (typeof RSA_KEY_SIZES)[number];

/** Generates a DKIM key: `publicKey` is the TXT record's `p=` value (RFC 6376 §3.6.1, RFC 8463). */
export function generateDkimKey(algorithm: DkimAlgorithm, rsaBits = 2048): DkimKeyMaterial {
  const pair =
    algorithm === 'ed25519'
      ? generateKeyPairSync('ed25519')
      : generateKeyPairSync('rsa', { modulusLength: rsaBits });
  return materialOf(pair.privateKey);
}

/** The published and the private half of a private key, the latter as PKCS#8 PEM. */
export function materialOf(privateKey: KeyObject): DkimKeyMaterial {
  const spki = createPublicKey(privateKey).export({ type: 'spki', format: 'der' });
  const privateKeyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  if (privateKey.asymmetricKeyType === 'ed25519') {
    // RFC 8463 publishes the raw 32-byte key, which is the tail of the SubjectPublicKeyInfo.
    return { publicKey: spki.subarray(spki.length - 32).toString('base64'), privateKeyPem };
  }
  const bits = privateKey.asymmetricKeyDetails?.modulusLength;
  return { publicKey: spki.toString('base64'), privateKeyPem, ...(bits === undefined ? {} : { bits }) };
}

export function newSelector(now = new Date()): string {
  return `ser${now.getUTCFullYear()}${String(now.getUTCMonth() + 1).padStart(2, '0')}-${randomBytes(3).toString('hex')}`;
}

export interface DnsRecord {
  name: string;
  type: 'TXT';
  value: string;
  /** The value split into character-strings of at most 255 bytes (RFC 1035 §3.3.14). */
  strings: string[];
}

export function dkimDnsRecord(
  domain: string,
  selector: string,
  algorithm: DkimAlgorithm,
  publicKey: string,
): DnsRecord {
  const value = `v=DKIM1; k=${algorithm === 'ed25519' ? 'ed25519' : 'rsa'}; p=${publicKey}`;
  const strings: string[] = [];
  for (let i = 0; i < value.length; i += 255) {
    strings.push(value.slice(i, i + 255));
  }
  return { name: `${selector}._domainkey.${domain}`, type: 'TXT', value, strings };
}

/** The `p=` tag of a DKIM TXT record, whitespace removed; undefined if absent. */
export function publicKeyOf(record: string): string | undefined {
  for (const tag of record.split(';')) {
    const [name, ...rest] = tag.split('=');
    if (name?.trim() === 'p') {
      return rest.join('=').replace(/\s+/g, '');
    }
  }
  return undefined;
}
