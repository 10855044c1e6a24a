import { decoyVerify, hashSecret, verifySecret } from './password-hash';

// Well-formed salt and hash fields, so that only the parameters make these records invalid.
const SALT = Buffer.alloc(16, 1).toString('base64');
const HASH = Buffer.alloc(32, 2).toString('base64');

// scrypt at N=2^17 takes a noticeable time per call: hash once and reuse.
describe('hashSecret / verifySecret', () => {
  const secret = 'correct horse battery staple';
  let stored: string;

  beforeAll(async () => {
    stored = await hashSecret(secret);
  });

  it('stores the scheme, its parameters, a salt and the hash', () => {
    const [scheme, n, r, p, salt, hash] = stored.split('$');
    expect({ scheme, n, r, p }).toEqual({ scheme: 'scrypt', n: '131072', r: '8', p: '1' });
    expect(Buffer.from(salt ?? '', 'base64')).toHaveLength(16);
    expect(Buffer.from(hash ?? '', 'base64')).toHaveLength(32);
    expect(stored).not.toContain(secret);
  });

  it('verifies the right secret', async () => {
    await expect(verifySecret(secret, stored)).resolves.toBe(true);
  });

  it('refuses a wrong secret, including one differing only in case or a trailing space', async () => {
    const results = await Promise.all(
      ['Correct horse battery staple', `${secret} `, ''].map((wrong) => verifySecret(wrong, stored)),
    );
    expect(results).toEqual([false, false, false]);
  });

  it('salts every hash, so two hashes of the same secret differ and both verify', async () => {
    const again = await hashSecret(secret);
    expect(again).not.toBe(stored);
    expect(again.split('$')[4]).not.toBe(stored.split('$')[4]);
    await expect(verifySecret(secret, again)).resolves.toBe(true);
  });

  it('refuses a stored hash whose hash bytes were tampered with', async () => {
    const parts = stored.split('$');
    const hash = Buffer.from(parts[5] ?? '', 'base64');
    hash[0] = (hash[0] ?? 0) ^ 0x01;
    parts[5] = hash.toString('base64');
    await expect(verifySecret(secret, parts.join('$'))).resolves.toBe(false);
  });

  it('refuses a stored hash whose salt was swapped', async () => {
    const parts = stored.split('$');
    parts[4] = Buffer.alloc(16, 7).toString('base64');
    await expect(verifySecret(secret, parts.join('$'))).resolves.toBe(false);
  });

  it.each([
    ['an empty string', ''],
    ['plain text', 'not a hash at all'],
    ['another scheme', 'bcrypt$2b$10$abcdefghijklmnopqrstuv'],
    ['missing parts', 'scrypt$131072$8$1$c2FsdA=='],
    ['a non-numeric cost', `scrypt$abc$8$1$${SALT}$${HASH}`],
    ['a negative block size', `scrypt$1024$-8$1$${SALT}$${HASH}`],
    ['a cost that is not a power of two', `scrypt$1000$8$1$${SALT}$${HASH}`],
    ['a cost too large for the memory limit', `scrypt$1073741824$8$1$${SALT}$${HASH}`],
    ['an extra field', `scrypt$1024$8$1$${SALT}$${HASH}$extra`],
  ])('returns false, without throwing, for %s', async (_label, garbage) => {
    await expect(verifySecret(secret, garbage)).resolves.toBe(false);
  });

  it('does not accept any secret against a stored hash with an empty hash part', async () => {
    const parts = stored.split('$');
    parts[5] = '';
    await expect(verifySecret('anything at all', parts.join('$'))).resolves.toBe(false);
  });

  it('does not accept a stored hash truncated to a few bytes', async () => {
    const parts = stored.split('$');
    parts[5] = Buffer.from(parts[5] ?? '', 'base64')
      .subarray(0, 2)
      .toString('base64');
    // A 2-byte hash could be matched by brute force in 65536 tries; it must be refused outright.
    await expect(verifySecret(secret, parts.join('$'))).resolves.toBe(false);
  });
});

describe('decoyVerify', () => {
  it('always resolves false', async () => {
    await expect(decoyVerify('whatever')).resolves.toBe(false);
  });
});
