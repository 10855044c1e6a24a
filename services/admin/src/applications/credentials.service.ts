import { newId, TenantConfigRepository } from '@ser/data';
import type { CredentialDocument } from '@ser/data';
import { generateSecret, generateUsername, hashSecret } from '@ser/security';
import { Injectable } from '@nestjs/common';
import { orNotFound } from '../http/problem';
import type { CreateCredentialInput } from './applications.schemas';

/** What the API shows of a credential: never its secret hash. */
export interface CredentialView {
  id: string;
  appId: string;
  username: string;
  status: CredentialDocument['status'];
  createdAt: Date;
  expiresAt?: Date;
  lastUsedAt?: Date;
  lastUsedIp?: string;
}

// The hash never leaves the database, even into this process, for the reads that do not need it.
const WITHOUT_HASH = { projection: { secretHash: 0 } } as const;

/**
 * SMTP credentials of an application. Ingress re-reads a credential through a cache of at most
 * `SER_INGRESS_CONFIG_CACHE_MS` (≤ 30 s), so a revocation or expiry takes effect within that.
 */
@Injectable()
export class CredentialsService {
  constructor(private readonly repo: TenantConfigRepository) {}

  /** The secret is returned here once and stored only as a scrypt hash. */
  async createCredential(
    appId: string,
    input: CreateCredentialInput,
  ): Promise<CredentialView & { password: string }> {
    const app = orNotFound(await this.repo.findApplicationById(appId), 'application');
    const password = generateSecret(24);
    const credential: CredentialDocument = {
      _id: newId('cred'),
      tenantId: app.tenantId,
      appId,
      username: generateUsername(),
      secretHash: await hashSecret(password),
      status: 'active',
      createdAt: new Date(),
      ...(input.expiresAt === undefined ? {} : { expiresAt: input.expiresAt }),
    };
    await this.repo.credentials.insertOne(credential);
    return { ...credentialView(credential), password };
  }

  async listCredentials(appId: string): Promise<CredentialView[]> {
    const app = orNotFound(await this.repo.findApplicationById(appId), 'application');
    const credentials = await this.repo.credentials
      .find({ tenantId: app.tenantId, appId }, WITHOUT_HASH)
      .sort({ createdAt: 1, _id: 1 })
      .toArray();
    return credentials.map(credentialView);
  }

  /** Idempotent: revoking a revoked credential answers the same view and changes nothing. */
  async revokeCredential(credentialId: string): Promise<CredentialView> {
    // Two steps, not findOneAndUpdate: FerretDB does not implement a projection on findAndModify,
    // and the status only ever moves to `revoked`, so no interleaving can show a stale view.
    await this.repo.credentials.updateOne({ _id: credentialId }, { $set: { status: 'revoked' } });
    const revoked = await this.repo.credentials.findOne({ _id: credentialId }, WITHOUT_HASH);
    return credentialView(orNotFound(revoked, 'credential'));
  }
}

/** Picks the shown fields one by one, so a field added to the document is never shown by accident. */
function credentialView(credential: Omit<CredentialDocument, 'secretHash'>): CredentialView {
  return {
    id: credential._id,
    appId: credential.appId,
    username: credential.username,
    status: credential.status,
    createdAt: credential.createdAt,
    ...(credential.expiresAt === undefined ? {} : { expiresAt: credential.expiresAt }),
    ...(credential.lastUsedAt === undefined ? {} : { lastUsedAt: credential.lastUsedAt }),
    ...(credential.lastUsedIp === undefined ? {} : { lastUsedIp: credential.lastUsedIp }),
  };
}
