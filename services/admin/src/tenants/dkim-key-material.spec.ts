import { createPublicKey } from 'node:crypto';
import { dkimDnsRecord, generateDkimKey, publicKeyOf } from './dkim-key-material';

describe('DKIM key material', () => {
  it('publishes an RSA public key that matches the private key', () => {
    const key = generateDkimKey('rsa', 1024);
    const fromPrivate = createPublicKey(key.privateKeyPem)
      .export({ type: 'spki', format: 'der' })
      .toString('base64');
    expect(key.publicKey).toBe(fromPrivate);
  });

  it('publishes the raw 32-byte Ed25519 key (RFC 8463)', () => {
    expect(Buffer.from(generateDkimKey('ed25519').publicKey, 'base64')).toHaveLength(32);
  });

  it('splits a long record into 255-byte strings that join back to the value', () => {
    const record = dkimDnsRecord('example.test', 's1', 'rsa', 'A'.repeat(400));
    expect(record.name).toBe('s1._domainkey.example.test');
    expect(record.strings.map((s) => s.length)).toEqual([255, record.value.length - 255]);
    expect(record.strings.join('')).toBe(record.value);
    expect(publicKeyOf(record.strings.join(''))).toBe('A'.repeat(400));
  });

  it.each([3072, 4096])(
    'generates RSA keys of %i bits, published in strings of at most 255 bytes',
    (bits) => {
      const key = generateDkimKey('rsa', bits);
      expect(key.bits).toBe(bits);
      const record = dkimDnsRecord('example.test', 's1', 'rsa', key.publicKey);
      expect(record.value.length).toBeGreaterThan(255);
      expect(record.strings.every((s) => Buffer.byteLength(s) <= 255)).toBe(true);
      expect(record.strings.join('')).toBe(record.value);
      expect(publicKeyOf(record.strings.join(''))).toBe(key.publicKey);
    },
  );

  it('reads p= with whitespace and finds none when absent', () => {
    expect(publicKeyOf('v=DKIM1; k=rsa; p=AB CD\tEF==')).toBe('ABCDEF==');
    expect(publicKeyOf('v=DKIM1; k=rsa')).toBeUndefined();
  });
});
