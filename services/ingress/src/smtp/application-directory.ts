import type { RelayConfig } from '@ser/config';
import { TenantConfigRepository } from '@ser/data';
import type { ApplicationDocument, CredentialDocument, TenantDocument } from '@ser/data';
import { CONFIG } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';

interface Entry<T> {
  value: Promise<T>;
  expires: number;
}

/**
 * Tenant configuration as ingress reads it on every AUTH and every transaction, cached for at most
 * `SER_INGRESS_CONFIG_CACHE_MS` (≤ 30 s). A revoked credential or suspended application therefore
 * stops working on every replica within that time, without a database read per command.
 */
@Injectable()
export class ApplicationDirectory {
  private readonly entries = new Map<string, Entry<unknown>>();
  private readonly ttlMs: number;

  constructor(
    private readonly repository: TenantConfigRepository,
    @Inject(CONFIG) config: RelayConfig,
  ) {
    this.ttlMs = config.SER_INGRESS_CONFIG_CACHE_MS;
  }

  credential(username: string): Promise<CredentialDocument | null> {
    return this.cached(`credential/${username}`, () => this.repository.findCredentialByUsername(username));
  }

  credentialById(tenantId: string, credentialId: string): Promise<CredentialDocument | null> {
    return this.cached(`credential-id/${credentialId}`, () =>
      this.repository.credentials.findOne({ _id: credentialId, tenantId }),
    );
  }

  application(tenantId: string, appId: string): Promise<ApplicationDocument | null> {
    return this.cached(`app/${appId}`, () => this.repository.findApplication(tenantId, appId));
  }

  tenant(tenantId: string): Promise<TenantDocument | null> {
    return this.cached(`tenant/${tenantId}`, () => this.repository.findTenant(tenantId));
  }

  /** At most one write a minute per credential. */
  async recordUse(credentialId: string, clientIp: string, now: Date): Promise<void> {
    await this.repository.credentials.updateOne(
      {
        _id: credentialId,
        $or: [{ lastUsedAt: { $exists: false } }, { lastUsedAt: { $lt: new Date(now.getTime() - 60_000) } }],
      },
      { $set: { lastUsedAt: now, lastUsedIp: clientIp } },
    );
  }

  /** A failed read is not cached: the next command tries the database again. */
  private cached<T>(key: string, load: () => Promise<T>): Promise<T> {
    const now = Date.now();
    const hit = this.entries.get(key) as Entry<T> | undefined;
    if (hit !== undefined && hit.expires > now) {
      return hit.value;
    }
    const value = load();
    if (this.ttlMs > 0) {
      this.entries.set(key, { value, expires: now + this.ttlMs });
      value.catch(() => this.entries.delete(key));
      this.evictExpired(now);
    }
    return value;
  }

  /** Keeps the map bounded by what was used in the last TTL. */
  private evictExpired(now: number): void {
    if (this.entries.size % 256 !== 0) {
      return;
    }
    for (const [key, entry] of this.entries) {
      if (entry.expires <= now) {
        this.entries.delete(key);
      }
    }
  }
}
