import { randomBytes } from 'node:crypto';

const MAX_PREFIX_LENGTH = 24;
let counter = 0;

/**
 * A short unique identifier such as `egress_k2j8d0x1a3`, made of [a-z0-9_] only,
 * so it is valid as a MongoDB database name (< 64 bytes, no `.`/`$`/`/`), a
 * BullMQ prefix (no `:`) and a Redis key segment. Unique across parallel Jest
 * workers (40 random bits) and within a process (a counter).
 */
export function uniqueName(prefix = 't'): string {
  const clean =
    prefix
      .toLowerCase()
      .replace(/[^a-z0-9_]+/g, '_')
      .replace(/^_+|_+$/g, '')
      .slice(0, MAX_PREFIX_LENGTH) || 't';
  counter = (counter + 1) % 1296;
  const random = randomBytes(5).readUIntBE(0, 5).toString(36).padStart(8, '0');
  return `${clean}_${random}${counter.toString(36).padStart(2, '0')}`;
}
