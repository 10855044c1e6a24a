import { constantTimeEquals, generateSecret, generateUsername, hashToken } from './tokens';

describe('generateSecret', () => {
  it('carries at least 128 bits of randomness by default, base64url-encoded', () => {
    const secret = generateSecret();
    expect(secret).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(Buffer.from(secret, 'base64url').length * 8).toBeGreaterThanOrEqual(128);
  });

  it('honours the requested byte count', () => {
    expect(Buffer.from(generateSecret(32), 'base64url')).toHaveLength(32);
  });

  it('never repeats', () => {
    const secrets = new Set(Array.from({ length: 1000 }, () => generateSecret()));
    expect(secrets.size).toBe(1000);
  });
});

describe('generateUsername', () => {
  it('is a lowercase prefix and 80 random bits in hex', () => {
    expect(generateUsername()).toMatch(/^app_[0-9a-f]{20}$/);
    expect(generateUsername('acme')).toMatch(/^acme_[0-9a-f]{20}$/);
  });

  it('never repeats', () => {
    const names = new Set(Array.from({ length: 1000 }, () => generateUsername()));
    expect(names.size).toBe(1000);
  });
});

describe('hashToken', () => {
  it('is SHA-256 in hex, deterministic', () => {
    // FIPS 180-2 test vector for "abc".
    expect(hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const token = generateSecret(32);
    expect(hashToken(token)).toBe(hashToken(token));
  });

  it('differs for tokens differing in one character', () => {
    expect(hashToken('token-a')).not.toBe(hashToken('token-b'));
  });

  it('hashes UTF-8 bytes', () => {
    expect(hashToken('é')).toBe(hashToken('\u00e9'));
    expect(hashToken('é')).not.toBe(hashToken('e\u0301'));
  });
});

describe('constantTimeEquals', () => {
  it('is true for equal strings', () => {
    expect(constantTimeEquals('same-token', 'same-token')).toBe(true);
    expect(constantTimeEquals('', '')).toBe(true);
  });

  it('is false for different strings of the same length', () => {
    expect(constantTimeEquals('token-aaaa', 'token-aaab')).toBe(false);
  });

  it('is false, without throwing, for strings of different lengths', () => {
    expect(constantTimeEquals('short', 'a much longer string')).toBe(false);
    expect(constantTimeEquals('prefix', 'prefix-and-more')).toBe(false);
    expect(constantTimeEquals('', 'x')).toBe(false);
  });
});
