import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { DkimKeyImportError, importDkimKey } from './dkim-key-import';

const rsa = (bits: number) => generateKeyPairSync('rsa', { modulusLength: bits }).privateKey;
const spkiOf = (pem: string) =>
  createPublicKey(pem).export({ type: 'spki', format: 'der' }).toString('base64');

function importError(algorithm: 'rsa' | 'ed25519', pem: string): string {
  try {
    importDkimKey(algorithm, pem);
  } catch (error) {
    expect(error).toBeInstanceOf(DkimKeyImportError);
    return (error as Error).message;
  }
  throw new Error('expected the import to fail');
}

describe('importDkimKey', () => {
  const rsa2048 = rsa(2048);

  it.each([
    ['PKCS#8', rsa2048.export({ type: 'pkcs8', format: 'pem' }).toString()],
    ['PKCS#1', rsa2048.export({ type: 'pkcs1', format: 'pem' }).toString()],
  ])('reads an RSA key in %s, re-encoded as PKCS#8, with its size and published key', (_format, pem) => {
    const key = importDkimKey('rsa', pem);
    expect(key.bits).toBe(2048);
    expect(key.warnings).toEqual([]);
    expect(key.privateKeyPem).toMatch(/^-----BEGIN PRIVATE KEY-----\n/);
    expect(key.publicKey).toBe(spkiOf(pem));
  });

  it('reads an Ed25519 key and publishes its raw 32 bytes', () => {
    const pair = generateKeyPairSync('ed25519');
    const key = importDkimKey('ed25519', pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString());
    const spki = pair.publicKey.export({ type: 'spki', format: 'der' });
    expect(key.publicKey).toBe(spki.subarray(spki.length - 32).toString('base64'));
    expect(key.bits).toBeUndefined();
    expect(key.warnings).toEqual([]);
  });

  it('accepts RSA from 1024 bits with a warning below 2048, and refuses smaller keys', () => {
    const small = importDkimKey('rsa', rsa(1024).export({ type: 'pkcs1', format: 'pem' }).toString());
    expect(small.bits).toBe(1024);
    expect(small.warnings).toEqual(['RSA key of 1024 bits: below the recommended 2048']);
    expect(importError('rsa', rsa(768).export({ type: 'pkcs8', format: 'pem' }).toString())).toBe(
      'RSA key of 768 bits: at least 1024 are required (RFC 8301)',
    );
  });

  it('refuses an RSA key above 4096 bits', () => {
    expect(importError('rsa', rsa(4160).export({ type: 'pkcs8', format: 'pem' }).toString())).toMatch(
      /^RSA key of 4160 bits: at most 4096/,
    );
  });

  it('refuses a key of another algorithm than the request names', () => {
    const ed = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(importError('rsa', ed)).toBe('the private key is ed25519, not rsa');
    const rsaPem = rsa2048.export({ type: 'pkcs8', format: 'pem' }).toString();
    expect(importError('ed25519', rsaPem)).toBe('the private key is rsa, not ed25519');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' })
      .privateKey.export({ type: 'pkcs8', format: 'pem' })
      .toString();
    expect(importError('rsa', ec)).toBe('ec keys cannot sign DKIM: expected rsa or ed25519');
  });

  it.each([
    ['PKCS#8', { type: 'pkcs8' as const }],
    ['PKCS#1', { type: 'pkcs1' as const }],
  ])('refuses an encrypted %s key, naming it', (_format, options) => {
    const pem = rsa2048
      .export({ ...options, format: 'pem', cipher: 'aes-256-cbc', passphrase: 'secret' })
      .toString();
    expect(importError('rsa', pem)).toMatch(/^the private key is encrypted \(passphrase-protected\)/);
  });

  it('refuses garbage, a public key and a damaged PEM without quoting them', () => {
    expect(importError('rsa', 'hello')).toMatch(/^not a PEM private key/);
    const publicPem = createPublicKey(rsa2048).export({ type: 'spki', format: 'pem' }).toString();
    expect(importError('rsa', publicPem)).toMatch(/^not a PEM private key/);
    const damaged = '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n';
    expect(importError('rsa', damaged)).toBe('the PEM does not hold a readable private key');
  });
});
