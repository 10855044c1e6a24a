import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A random secret of `bytes` bytes (default 24 = 192 bits), base64url. */
export function generateSecret(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}

/** Lowercase user name safe for SMTP AUTH: a prefix and 80 random bits in hex. */
export function generateUsername(prefix = 'app'): string {
  return `${prefix}_${randomBytes(10).toString('hex')}`;
}

/**
 * API tokens are 256-bit random values, so a fast hash is enough to store them: there is nothing
 * to brute-force that a slow hash would protect.
 */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

export function constantTimeEquals(a: string, b: string): boolean {
  const left = createHash('sha256').update(a).digest();
  const right = createHash('sha256').update(b).digest();
  return timingSafeEqual(left, right);
}
