import { newId, TenantConfigRepository } from '@ser/data';
import type { ApplicationDocument, CredentialDocument } from '@ser/data';
import { generateSecret, generateUsername, hashSecret } from '@ser/security';
import type { Db } from 'mongodb';

export interface SeededCredential {
  credentialId: string;
  username: string;
  password: string;
}

export interface SeededTenant {
  tenantId: string;
  domains: string[];
}

/**
 * Writes tenant configuration straight into the database, as the admin service would, so that an
 * ingress test depends on nothing but the ingress.
 */
export class TenantSeed {
  readonly repo: TenantConfigRepository;

  constructor(db: Db) {
    this.repo = new TenantConfigRepository(db);
  }

  async tenant(domains: string[], status: 'active' | 'suspended' = 'active'): Promise<SeededTenant> {
    const tenantId = newId('ten');
    const createdAt = new Date();
    await this.repo.tenants.insertOne({ _id: tenantId, name: `Tenant ${tenantId}`, status, createdAt });
    for (const name of domains) {
      await this.repo.domains.insertOne({ _id: newId('dom'), tenantId, name, createdAt });
    }
    return { tenantId, domains };
  }

  async application(
    tenantId: string,
    options: Partial<
      Pick<
        ApplicationDocument,
        | 'status'
        | 'allowedFromDomains'
        | 'allowedFromAddresses'
        | 'allowedSourceIps'
        | 'bulkPolicy'
        | 'limits'
      >
    > = {},
  ): Promise<string> {
    const appId = newId('app');
    await this.repo.applications.insertOne({
      _id: appId,
      tenantId,
      name: `App ${appId}`,
      allowedFromDomains: [],
      ...options,
      status: options.status ?? 'active',
      createdAt: new Date(),
    });
    return appId;
  }

  async credential(
    tenantId: string,
    appId: string,
    status: CredentialDocument['status'] = 'active',
    expiresAt?: Date,
  ): Promise<SeededCredential> {
    const credentialId = newId('cred');
    const username = generateUsername();
    const password = generateSecret();
    await this.repo.credentials.insertOne({
      _id: credentialId,
      tenantId,
      appId,
      username,
      secretHash: await hashSecret(password),
      status,
      createdAt: new Date(),
      ...(expiresAt === undefined ? {} : { expiresAt }),
    });
    return { credentialId, username, password };
  }
}
