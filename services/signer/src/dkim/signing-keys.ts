import { dkimKeyAad, TenantConfigRepository } from '@ser/data';
import type { DkimAlgorithm, DkimKeyDocument } from '@ser/data';
import { SecretBox } from '@ser/security';
import { Injectable } from '@nestjs/common';
import { getDomain } from 'tldts';
import type { SigningKey } from './dkim-signer';

export interface ChosenKey extends SigningKey {
  keyId: string;
  algorithm: DkimAlgorithm;
}

/** Decrypted private keys kept in memory (never stored or logged); a key id's key never changes. */
const CACHE_LIMIT = 1000;

/**
 * The keys a message is signed with: the From domain's own active keys, else those of its
 * organisational domain (relaxed DMARC alignment, RFC 7489 §3.1.1; found with the Public Suffix
 * List), so `d=` always aligns with From. The newest active RSA key and the newest active Ed25519
 * key both sign (RFC 8463 dual signing); during a rotation, the newly activated key takes over.
 */
@Injectable()
export class SigningKeys {
  private readonly decrypted = new Map<string, string>();

  constructor(
    private readonly config: TenantConfigRepository,
    private readonly box: SecretBox,
  ) {}

  async forFrom(tenantId: string, fromDomain: string): Promise<ChosenKey[]> {
    for (const domain of candidateDomains(fromDomain)) {
      const active = await this.config.findActiveDkimKeys(tenantId, domain);
      const chosen = (['rsa', 'ed25519'] as const)
        .map((algorithm) => active.find((k) => k.algorithm === algorithm))
        .filter((k): k is DkimKeyDocument => k !== undefined);
      if (chosen.length > 0) {
        return chosen.map((key) => ({
          keyId: key._id,
          domain: key.domain,
          selector: key.selector,
          algorithm: key.algorithm,
          privateKeyPem: this.privateKey(key),
        }));
      }
    }
    return [];
  }

  private privateKey(key: DkimKeyDocument): string {
    let pem = this.decrypted.get(key._id);
    if (pem === undefined) {
      pem = this.box.open(key.privateKey, dkimKeyAad(key._id));
      if (this.decrypted.size >= CACHE_LIMIT) {
        const oldest = this.decrypted.keys().next().value;
        if (oldest !== undefined) {
          this.decrypted.delete(oldest);
        }
      }
      this.decrypted.set(key._id, pem);
    }
    return pem;
  }
}

/** The From domain, then its organisational domain when that is a different, registrable one. */
export function candidateDomains(fromDomain: string): string[] {
  const domain = fromDomain.toLowerCase().replace(/\.$/, '');
  const organisational = getDomain(domain);
  return organisational === null || organisational === domain ? [domain] : [domain, organisational];
}
