import { createCipheriv, createDecipheriv, createHash, randomBytes } from 'node:crypto';

const TAG_BYTES = 16;

/** A value encrypted with AES-256-GCM under a master key; `keyId` names the key for rotation. */
export interface SealedSecret {
  alg: 'A256GCM';
  keyId: string;
  iv: string;
  tag: string;
  data: string;
}

export class SecretBoxError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'SecretBoxError';
  }
}

/** Envelope encryption of secrets at rest (DKIM private keys) under the master key. */
export class SecretBox {
  readonly keyId: string;
  private readonly key: Buffer;

  constructor(masterKeyBase64: string) {
    const key = Buffer.from(masterKeyBase64.trim(), 'base64');
    if (key.length !== 32) {
      throw new SecretBoxError('the master key must be 32 bytes, base64-encoded');
    }
    this.key = key;
    this.keyId = createHash('sha256').update(key).digest('hex').slice(0, 16);
  }

  seal(plaintext: string, associatedData: string): SealedSecret {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.key, iv);
    cipher.setAAD(Buffer.from(associatedData, 'utf8'));
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return {
      alg: 'A256GCM',
      keyId: this.keyId,
      iv: iv.toString('base64'),
      tag: cipher.getAuthTag().toString('base64'),
      data: data.toString('base64'),
    };
  }

  open(sealed: SealedSecret, associatedData: string): string {
    if (sealed.keyId !== this.keyId) {
      throw new SecretBoxError(`sealed with master key ${sealed.keyId}, current key is ${this.keyId}`);
    }
    try {
      // A fixed tag length: otherwise Node accepts a tag truncated to 4 bytes, which is forgeable.
      const decipher = createDecipheriv('aes-256-gcm', this.key, Buffer.from(sealed.iv, 'base64'), {
        authTagLength: TAG_BYTES,
      });
      decipher.setAAD(Buffer.from(associatedData, 'utf8'));
      decipher.setAuthTag(Buffer.from(sealed.tag, 'base64'));
      return Buffer.concat([decipher.update(Buffer.from(sealed.data, 'base64')), decipher.final()]).toString(
        'utf8',
      );
    } catch (error) {
      throw new SecretBoxError('cannot decrypt the sealed secret', { cause: error });
    }
  }
}
