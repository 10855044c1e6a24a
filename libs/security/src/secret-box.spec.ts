import { createCipheriv, createHash, randomBytes } from 'node:crypto';
import { SecretBox, SecretBoxError } from './secret-box';
import type { DirectSealedSecret, EnvelopeSealedSecret, SealedSecret } from './secret-box';

const PEM =
  '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+1/fake+key+material==\n-----END PRIVATE KEY-----\n';
const AAD = 'dkim_keys/dk_0123';

function wrapped(sealed: SealedSecret): EnvelopeSealedSecret {
  if (sealed.alg !== 'A256GCM-ENV') {
    throw new Error('expected an envelope');
  }
  return sealed;
}

function newMasterKey(): string {
  return randomBytes(32).toString('base64');
}

/** Flips one bit of a base64 field. */
function flipBit(base64: string, index = 0): string {
  const bytes = Buffer.from(base64, 'base64');
  bytes[index] = (bytes[index] ?? 0) ^ 0x01;
  return bytes.toString('base64');
}

/** A secret in the first format (directly under the master key), as documents written before envelopes hold it. */
function sealDirect(masterKey: string, plaintext: string, aad: string): DirectSealedSecret {
  const key = Buffer.from(masterKey, 'base64');
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return {
    alg: 'A256GCM',
    keyId: createHash('sha256').update(key).digest('hex').slice(0, 16),
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    data: data.toString('base64'),
  };
}

function openError(box: SecretBox, sealed: SealedSecret, aad: string): unknown {
  try {
    box.open(sealed, aad);
  } catch (error) {
    return error;
  }
  return undefined;
}

describe('SecretBox', () => {
  const masterKey = newMasterKey();
  const box = new SecretBox(masterKey);

  it('opens what it sealed, including non-ASCII text', () => {
    const text = `${PEM}ünïcødé ✓`;
    expect(box.open(box.seal(text, AAD), AAD)).toBe(text);
  });

  it('does not leave the plaintext readable in the sealed value', () => {
    const sealed = box.seal(PEM, AAD);
    expect(sealed.alg).toBe('A256GCM-ENV');
    expect(JSON.stringify(sealed)).not.toContain('PRIVATE KEY');
    expect(Buffer.from(sealed.data, 'base64').toString('utf8')).not.toContain('PRIVATE KEY');
  });

  it('uses a fresh 96-bit IV for every seal', () => {
    const a = box.seal(PEM, AAD);
    const b = box.seal(PEM, AAD);
    expect(Buffer.from(a.iv, 'base64')).toHaveLength(12);
    expect(a.iv).not.toBe(b.iv);
    expect(a.data).not.toBe(b.data);
  });

  it('opens with another instance built from the same key, which has the same key id', () => {
    const other = new SecretBox(`  ${masterKey}\n`);
    expect(other.keyId).toBe(box.keyId);
    expect(other.keyId).toMatch(/^[0-9a-f]{16}$/);
    expect(other.open(box.seal(PEM, AAD), AAD)).toBe(PEM);
  });

  it('refuses other associated data: a key sealed for one document cannot be moved to another', () => {
    const sealed = box.seal(PEM, AAD);
    expect(openError(box, sealed, 'dkim_keys/dk_other')).toBeInstanceOf(SecretBoxError);
  });

  it.each([
    ['data', (s: SealedSecret): SealedSecret => ({ ...s, data: flipBit(s.data, 5) })],
    ['tag', (s: SealedSecret): SealedSecret => ({ ...s, tag: flipBit(s.tag, 15) })],
    ['iv', (s: SealedSecret): SealedSecret => ({ ...s, iv: flipBit(s.iv) })],
    ['data (truncated)', (s: SealedSecret): SealedSecret => ({ ...s, data: s.data.slice(0, 8) })],
    ['tag (empty)', (s: SealedSecret): SealedSecret => ({ ...s, tag: '' })],
    [
      'wrappedKey',
      (s: SealedSecret): SealedSecret => ({ ...wrapped(s), wrappedKey: flipBit(wrapped(s).wrappedKey, 3) }),
    ],
    [
      'wrapTag',
      (s: SealedSecret): SealedSecret => ({ ...wrapped(s), wrapTag: flipBit(wrapped(s).wrapTag, 15) }),
    ],
    ['wrapIv', (s: SealedSecret): SealedSecret => ({ ...wrapped(s), wrapIv: flipBit(wrapped(s).wrapIv) })],
    [
      'wrappedKey (truncated)',
      (s: SealedSecret): SealedSecret => ({ ...wrapped(s), wrappedKey: wrapped(s).wrappedKey.slice(0, 8) }),
    ],
  ])('refuses tampered %s with a SecretBoxError', (_field, tamper) => {
    const error = openError(box, tamper(box.seal(PEM, AAD)), AAD);
    expect(error).toBeInstanceOf(SecretBoxError);
    expect((error as Error).message).toBe('cannot decrypt the sealed secret');
  });

  it('refuses a tag truncated to 4 bytes (a shortened tag weakens GCM authentication)', () => {
    const sealed = box.seal(PEM, AAD);
    const shortTag = Buffer.from(sealed.tag, 'base64').subarray(0, 4).toString('base64');
    expect(openError(box, { ...sealed, tag: shortTag }, AAD)).toBeInstanceOf(SecretBoxError);
  });

  it('refuses a secret sealed under another master key, naming both key ids', () => {
    const other = new SecretBox(newMasterKey());
    const error = openError(box, other.seal(PEM, AAD), AAD);
    expect(error).toBeInstanceOf(SecretBoxError);
    expect((error as Error).message).toContain(other.keyId);
    expect((error as Error).message).toContain(box.keyId);
  });

  it('does not decrypt with the wrong key even when the key id field is forged', () => {
    const other = new SecretBox(newMasterKey());
    const forged = { ...other.seal(PEM, AAD), keyId: box.keyId };
    expect(openError(box, forged, AAD)).toBeInstanceOf(SecretBoxError);
  });

  it.each([
    ['16 bytes', randomBytes(16).toString('base64')],
    ['33 bytes', randomBytes(33).toString('base64')],
    ['empty', ''],
    ['32 characters of text', 'abcdefghijklmnopqrstuvwxyz012345'],
  ])('refuses a master key of %s', (_label, key) => {
    expect(() => new SecretBox(key)).toThrow(SecretBoxError);
  });
});

describe('SecretBox envelope encryption', () => {
  const masterKey = newMasterKey();
  const box = new SecretBox(masterKey);

  it('encrypts each secret under a fresh data key, itself wrapped under the master key', () => {
    const a = box.seal(PEM, AAD);
    const b = box.seal(PEM, AAD);
    // A 256-bit data key, wrapped: 32 bytes of ciphertext, different for every secret.
    expect(Buffer.from(a.wrappedKey, 'base64')).toHaveLength(32);
    expect(Buffer.from(a.wrapIv, 'base64')).toHaveLength(12);
    expect(a.wrappedKey).not.toBe(b.wrappedKey);
    // The data is not encrypted under the master key itself.
    const direct = { ...box.seal(PEM, AAD), alg: 'A256GCM' as const };
    expect(openError(box, direct, AAD)).toBeInstanceOf(SecretBoxError);
  });

  it('refuses a data key moved from another secret', () => {
    const a = box.seal(PEM, AAD);
    const b = box.seal(PEM, 'dkim_keys/dk_other');
    const moved = { ...a, wrappedKey: b.wrappedKey, wrapIv: b.wrapIv, wrapTag: b.wrapTag };
    expect(openError(box, moved, AAD)).toBeInstanceOf(SecretBoxError);
  });

  it('still opens secrets of the first format (directly under the master key)', () => {
    expect(box.open(sealDirect(masterKey, PEM, AAD), AAD)).toBe(PEM);
    expect(openError(box, sealDirect(masterKey, PEM, AAD), 'dkim_keys/dk_other')).toBeInstanceOf(
      SecretBoxError,
    );
  });

  describe('master key rotation', () => {
    const oldKey = newMasterKey();
    const oldBox = new SecretBox(oldKey);
    const rotated = new SecretBox(masterKey, [oldKey]);

    it('opens secrets sealed under a previous master key and seals under the current one', () => {
      expect(rotated.keyId).toBe(box.keyId);
      expect(rotated.keyIds).toEqual([box.keyId, oldBox.keyId]);
      expect(rotated.open(oldBox.seal(PEM, AAD), AAD)).toBe(PEM);
      expect(rotated.seal(PEM, AAD).keyId).toBe(box.keyId);
      const error = openError(box, oldBox.seal(PEM, AAD), AAD);
      expect(error).toBeInstanceOf(SecretBoxError);
      expect((error as Error).message).toBe(
        `sealed with master key ${oldBox.keyId}, current key is ${box.keyId}`,
      );
    });

    it('reseals an envelope by re-wrapping its data key: the new key alone opens it, the old one no longer', () => {
      const sealed = oldBox.seal(PEM, AAD);
      expect(rotated.isCurrent(sealed)).toBe(false);
      const resealed = rotated.reseal(sealed, AAD);
      expect(resealed).toMatchObject({ alg: 'A256GCM-ENV', keyId: box.keyId });
      expect(rotated.isCurrent(resealed)).toBe(true);
      // The secret itself is not re-encrypted, only its data key.
      expect([resealed.iv, resealed.tag, resealed.data]).toEqual([sealed.iv, sealed.tag, sealed.data]);
      expect(resealed.wrappedKey).not.toBe(sealed.wrappedKey);
      expect(box.open(resealed, AAD)).toBe(PEM);
      expect(openError(oldBox, resealed, AAD)).toBeInstanceOf(SecretBoxError);
    });

    it('reseals a secret of the first format into an envelope', () => {
      const resealed = rotated.reseal(sealDirect(oldKey, PEM, AAD), AAD);
      expect(resealed).toMatchObject({ alg: 'A256GCM-ENV', keyId: box.keyId });
      expect(box.open(resealed, AAD)).toBe(PEM);
      expect(rotated.isCurrent(sealDirect(masterKey, PEM, AAD))).toBe(false);
    });

    it('refuses to reseal what no known key opens, or with other associated data', () => {
      const stranger = new SecretBox(newMasterKey()).seal(PEM, AAD);
      expect(() => rotated.reseal(stranger, AAD)).toThrow(SecretBoxError);
      expect(() => rotated.reseal(oldBox.seal(PEM, AAD), 'dkim_keys/dk_other')).toThrow(SecretBoxError);
    });

    it('refuses an invalid previous key', () => {
      expect(() => new SecretBox(masterKey, ['too short'])).toThrow(SecretBoxError);
    });
  });
});
