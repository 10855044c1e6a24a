import { randomBytes } from 'node:crypto';

/**
 * Message ids are time-ordered (48-bit milliseconds) plus 80 random bits, in lowercase base32,
 * so they sort by arrival, fit in job ids (no `:`), and cannot be guessed.
 */
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

export function newMessageId(now: number = Date.now()): string {
  let time = '';
  let t = now;
  for (let i = 0; i < 10; i += 1) {
    time = ALPHABET.charAt(t % 32) + time;
    t = Math.floor(t / 32);
  }
  const random = randomBytes(10);
  let tail = '';
  let acc = 0;
  let bits = 0;
  for (const byte of random) {
    acc = (acc << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      tail += ALPHABET.charAt((acc >> bits) & 31);
    }
  }
  return time + tail;
}

export const MESSAGE_ID_PATTERN = /^[0-9a-hjkmnp-tv-z]{26}$/;

/** Job ids derive from the message id and the stage, so a re-enqueue of the same stage is a no-op. */
export const jobIds = {
  scan: (messageId: string): string => `${messageId}.scan`,
  sign: (messageId: string): string => `${messageId}.sign`,
  deliver: (messageId: string, domain: string): string => `${messageId}.deliver.${domain}`,
} as const;
