import { randomBytes } from 'node:crypto';

export type IdPrefix = 'ten' | 'dom' | 'dk' | 'app' | 'cred' | 'aud' | 'tok';

/** Opaque ids with a type prefix, so a misplaced id is obvious in logs and API calls. */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${randomBytes(12).toString('hex')}`;
}
