import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const TAG_BYTES = 16;
const KEY_BYTES = 32;

interface SealedFields {
  /** The master key that opens it (SHA-256 of the key, 16 hex digits): which key to use after a rotation. */
  keyId: string;
  iv: string;
  tag: string;
  data: string;
}

/** The first format: the secret encrypted directly under the master key. Opened, never written. */
export interface DirectSealedSecret extends SealedFields {
  alg: 'A256GCM';
}

/**
 * Envelope encryption: `data` is the secret under a fresh random 256-bit data key, and
 * `wrappedKey` is that data key under the master key (both AES-256-GCM). Rotating the master key
 * re-wraps the 32-byte data key; the secret itself is not touched.
 */
export interface EnvelopeSealedSecret extends SealedFields {
  alg: 'A256GCM-ENV';
  wrappedKey: string;
  wrapIv: string;
  wrapTag: string;
}

/** A value encrypted with AES-256-GCM under a master key; `keyId` names the key for rotation. */
export type SealedSecret = DirectSealedSecret | EnvelopeSealedSecret;

export class SecretBoxError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SecretBoxError';
  }
}

interface Encrypted {
  iv: string;
  tag: string;
  data: string;
}

/**
 * Envelope encryption of secrets at rest (DKIM private keys) under the master key. Previous master
 * keys still open what they sealed, so a rotation is: new key current, old key previous, `reseal`
 * every secret, then drop the old key.
 */
export class SecretBox {
  readonly keyId: string;
  private readonly key: Buffer;
  private readonly keys: ReadonlyMap<string, Buffer>;

  constructor(masterKeyBase64: string, previousKeysBase64: readonly string[] = []) {
    this.key = decodeMasterKey(masterKeyBase64);
    this.keyId = keyIdOf(this.key);
    const keys = new Map<string, Buffer>();
    for (const previous of previousKeysBase64) {
      const key = decodeMasterKey(previous);
      keys.set(keyIdOf(key), key);
    }
    keys.set(this.keyId, this.key);
    this.keys = keys;
  }

  /** Every master key id this box can open, the current one first. */
  get keyIds(): string[] {
    return [this.keyId, ...[...this.keys.keys()].filter((id) => id !== this.keyId)];
  }

  seal(plaintext: string, associatedData: string): EnvelopeSealedSecret {
    const dataKey = randomBytes(KEY_BYTES);
    try {
      return {
        alg: 'A256GCM-ENV',
        keyId: this.keyId,
        ...encrypt(dataKey, Buffer.from(plaintext, 'utf8'), associatedData),
        ...this.wrap(dataKey, associatedData),
      };
    } finally {
      dataKey.fill(0);
    }
  }

  open(sealed: SealedSecret, associatedData: string): string {
    const master = this.masterKeyFor(sealed);
    if (sealed.alg === 'A256GCM') {
      return decrypt(master, sealed, associatedData).toString('utf8');
    }
    const dataKey = this.unwrap(master, sealed, associatedData);
    try {
      return decrypt(dataKey, sealed, associatedData).toString('utf8');
    } finally {
      dataKey.fill(0);
    }
  }

  /** True when the secret is an envelope under the current master key: `reseal` would not change it. */
  isCurrent(sealed: SealedSecret): boolean {
    return sealed.alg === 'A256GCM-ENV' && sealed.keyId === this.keyId;
  }

  /**
   * The secret under the current master key, as an envelope. An envelope gets its data key
   * re-wrapped (the data key is authenticated on the way, the secret is not decrypted); a secret of
   * the first format is opened and sealed again. Throws like `open` when no known key opens it.
   */
  reseal(sealed: SealedSecret, associatedData: string): EnvelopeSealedSecret {
    if (sealed.alg === 'A256GCM') {
      return this.seal(this.open(sealed, associatedData), associatedData);
    }
    const dataKey = this.unwrap(this.masterKeyFor(sealed), sealed, associatedData);
    try {
      return { ...sealed, keyId: this.keyId, ...this.wrap(dataKey, associatedData) };
    } finally {
      dataKey.fill(0);
    }
  }

  private masterKeyFor(sealed: SealedSecret): Buffer {
    const key = this.keys.get(sealed.keyId);
    if (key === undefined) {
      throw new SecretBoxError(
        `sealed with master key ${sealed.keyId}, current key is ${this.keyId}` +
          (this.keys.size > 1 ? ` (previous: ${this.keyIds.slice(1).join(', ')})` : ''),
      );
    }
    return key;
  }

  private wrap(
    dataKey: Buffer,
    associatedData: string,
  ): Pick<EnvelopeSealedSecret, 'wrappedKey' | 'wrapIv' | 'wrapTag'> {
    const { iv, tag, data } = encrypt(this.key, dataKey, wrapAad(this.keyId, associatedData));
    return { wrappedKey: data, wrapIv: iv, wrapTag: tag };
  }

  private unwrap(master: Buffer, sealed: EnvelopeSealedSecret, associatedData: string): Buffer {
    const dataKey = decrypt(
      master,
      { iv: sealed.wrapIv, tag: sealed.wrapTag, data: sealed.wrappedKey },
      wrapAad(sealed.keyId, associatedData),
    );
    if (dataKey.length !== KEY_BYTES) {
      throw new SecretBoxError('cannot decrypt the sealed secret');
    }
    return dataKey;
  }
}

/**
 * The wrapped data key is bound to the document (a data key cannot be moved to another secret)
 * and to the master key id it names.
 */
function wrapAad(keyId: string, associatedData: string): string {
  return `A256GCM-ENV/${keyId}/${associatedData}`;
}

function decodeMasterKey(base64: string): Buffer {
  const key = Buffer.from(base64.trim(), 'base64');
  if (key.length !== KEY_BYTES) {
    throw new SecretBoxError('the master key must be 32 bytes, base64-encoded');
  }
  return key;
}

function keyIdOf(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

function encrypt(key: Buffer, plaintext: Buffer, associatedData: string): Encrypted {
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(associatedData, 'utf8'));
  const data = Buffer.concat([cipher.update(plaintext), cipher.final()]);
  return {
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    data: data.toString('base64'),
  };
}

function decrypt(key: Buffer, encrypted: Encrypted, associatedData: string): Buffer {
  try {
    // A fixed tag length: otherwise Node accepts a tag truncated to 4 bytes, which is forgeable.
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(encrypted.iv, 'base64'), {
      authTagLength: TAG_BYTES,
    });
    decipher.setAAD(Buffer.from(associatedData, 'utf8'));
    decipher.setAuthTag(Buffer.from(encrypted.tag, 'base64'));
    return Buffer.concat([decipher.update(Buffer.from(encrypted.data, 'base64')), decipher.final()]);
  } catch (error) {
    throw new SecretBoxError('cannot decrypt the sealed secret', { cause: error });
  }
}
