import type { Collection, Db } from 'mongodb';
import type {
  ApplicationDocument,
  CredentialDocument,
  DkimKeyDocument,
  DomainDocument,
  TenantDocument,
} from './documents';
import { COLLECTIONS } from './documents';

export function isDuplicateKeyError(error: unknown): boolean {
  return typeof error === 'object' && error !== null && (error as { code?: unknown }).code === 11000;
}

/**
 * Tenant configuration: tenants, domains, DKIM keys, applications and credentials. Every read of
 * tenant data takes the tenant id, so a query can never reach another tenant's documents
 * (invariant 6); the only unscoped lookups are the ones the pipeline needs to find the tenant
 * (credential by user name, domain by name), and they return the owning tenant id.
 */
export class TenantConfigRepository {
  readonly tenants: Collection<TenantDocument>;
  readonly domains: Collection<DomainDocument>;
  readonly dkimKeys: Collection<DkimKeyDocument>;
  readonly applications: Collection<ApplicationDocument>;
  readonly credentials: Collection<CredentialDocument>;

  constructor(db: Db) {
    this.tenants = db.collection(COLLECTIONS.tenants);
    this.domains = db.collection(COLLECTIONS.domains);
    this.dkimKeys = db.collection(COLLECTIONS.dkimKeys);
    this.applications = db.collection(COLLECTIONS.applications);
    this.credentials = db.collection(COLLECTIONS.credentials);
  }

  findTenant(tenantId: string): Promise<TenantDocument | null> {
    return this.tenants.findOne({ _id: tenantId });
  }

  findDomain(tenantId: string, domainId: string): Promise<DomainDocument | null> {
    return this.domains.findOne({ _id: domainId, tenantId });
  }

  findDomainById(domainId: string): Promise<DomainDocument | null> {
    return this.domains.findOne({ _id: domainId });
  }

  /** Unscoped on purpose: a domain name has one owner; callers compare the returned tenant id. */
  findDomainByName(name: string): Promise<DomainDocument | null> {
    return this.domains.findOne({ name: name.toLowerCase() });
  }

  findApplication(tenantId: string, appId: string): Promise<ApplicationDocument | null> {
    return this.applications.findOne({ _id: appId, tenantId });
  }

  findApplicationById(appId: string): Promise<ApplicationDocument | null> {
    return this.applications.findOne({ _id: appId });
  }

  /** Unscoped on purpose: SMTP AUTH starts from the user name alone. */
  findCredentialByUsername(username: string): Promise<CredentialDocument | null> {
    return this.credentials.findOne({ username });
  }

  findActiveDkimKey(tenantId: string, domain: string): Promise<DkimKeyDocument | null> {
    return this.dkimKeys.findOne(
      { tenantId, domain: domain.toLowerCase(), status: 'active' },
      { sort: { activatedAt: -1 } },
    );
  }

  /** The domain's active keys, most recently activated first (a domain may sign with RSA and Ed25519). */
  findActiveDkimKeys(tenantId: string, domain: string): Promise<DkimKeyDocument[]> {
    return this.dkimKeys
      .find({ tenantId, domain: domain.toLowerCase(), status: 'active' })
      .sort({ activatedAt: -1, _id: -1 })
      .toArray();
  }

  findDkimKeyById(keyId: string): Promise<DkimKeyDocument | null> {
    return this.dkimKeys.findOne({ _id: keyId });
  }

  findCredentialById(credentialId: string): Promise<CredentialDocument | null> {
    return this.credentials.findOne({ _id: credentialId });
  }
}

export const tenantConfigIndexes = [
  { collection: COLLECTIONS.domains, key: { name: 1 }, options: { unique: true } },
  { collection: COLLECTIONS.domains, key: { tenantId: 1, name: 1 } },
  { collection: COLLECTIONS.dkimKeys, key: { domainId: 1, selector: 1 }, options: { unique: true } },
  { collection: COLLECTIONS.dkimKeys, key: { tenantId: 1, domain: 1, status: 1 } },
  { collection: COLLECTIONS.applications, key: { tenantId: 1, createdAt: 1 } },
  { collection: COLLECTIONS.credentials, key: { username: 1 }, options: { unique: true } },
  { collection: COLLECTIONS.credentials, key: { tenantId: 1, appId: 1 } },
] as const;
