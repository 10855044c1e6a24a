import { randomBytes } from 'node:crypto';
import { SecretBox, SecretBoxError } from './secret-box';
import type { SealedSecret } from './secret-box';

const PEM =
  '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+1/fake+key+material==\n-----END PRIVATE KEY-----\n';
const AAD = 'dkim_keys/dk_0123';

function newMasterKey(): string {
  return randomBytes(32).toString('base64');
}

/** Flips one bit of a base64 field. */
function flipBit(base64: string, index = 0): string {
  const bytes = Buffer.from(base64, 'base64');
  bytes[index] = (bytes[index] ?? 0) ^ 0x01;
  return bytes.toString('base64');
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
    expect(sealed.alg).toBe('A256GCM');
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
