import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import type { ScryptOptions } from 'node:crypto';

/** scrypt parameters (OWASP minimum N=2^17, r=8, p=1); stored with the hash so they can be raised. */
const PARAMS = { N: 2 ** 17, r: 8, p: 1 } as const;
const KEY_LENGTH = 32;

function scryptAsync(secret: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(secret, salt, keylen, { ...options, maxmem: 256 * 1024 * 1024 }, (error, key) =>
      error === null ? resolve(key) : reject(error),
    );
  });
}

/** Format: `scrypt$N$r$p$<salt b64>$<hash b64>`. */
export async function hashSecret(secret: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scryptAsync(secret, salt, KEY_LENGTH, PARAMS);
  return ['scrypt', PARAMS.N, PARAMS.r, PARAMS.p, salt.toString('base64'), hash.toString('base64')].join('$');
}

export async function verifySecret(secret: string, stored: string): Promise<boolean> {
  const record = parseStored(stored);
  if (record === undefined) {
    return false;
  }
  try {
    const actual = await scryptAsync(secret, record.salt, KEY_LENGTH, record.params);
    return timingSafeEqual(record.hash, actual);
  } catch {
    // Parameters scrypt refuses (a corrupted or tampered record) verify nothing, like a wrong secret.
    return false;
  }
}

/**
 * A record is only usable with a full-length hash: an empty one would match every secret and a
 * short one could be matched by brute force.
 */
function parseStored(stored: string): { params: ScryptOptions; salt: Buffer; hash: Buffer } | undefined {
  const [scheme, n, r, p, salt, hash, ...rest] = stored.split('$');
  if (scheme !== 'scrypt' || salt === undefined || hash === undefined || rest.length > 0) {
    return undefined;
  }
  const [N, blockSize, parallel] = [n, r, p].map((v) =>
    v !== undefined && /^\d{1,10}$/.test(v) ? Number(v) : 0,
  );
  const hashBytes = Buffer.from(hash, 'base64');
  const saltBytes = Buffer.from(salt, 'base64');
  if (!N || !blockSize || !parallel || hashBytes.length !== KEY_LENGTH || saltBytes.length === 0) {
    return undefined;
  }
  return { params: { N, r: blockSize, p: parallel }, salt: saltBytes, hash: hashBytes };
}

/**
 * A hash of a random secret nobody knows, so that an unknown user name costs the same scrypt time
 * as a known one and the reply timing does not reveal which user names exist.
 */
let decoyHash: Promise<string> | undefined;
export function decoyVerify(secret: string): Promise<boolean> {
  decoyHash ??= hashSecret(randomBytes(16).toString('hex'));
  return decoyHash.then((hash) => verifySecret(secret, hash)).then(() => false);
}
