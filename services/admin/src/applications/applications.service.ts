import { newId, TenantConfigRepository } from '@ser/data';
import type { ApplicationDocument } from '@ser/data';
import { Injectable } from '@nestjs/common';
import { orNotFound } from '../http/problem';
import { applicationUpdate } from './application-update';
import type { CreateApplicationInput, UpdateApplicationInput } from './applications.schemas';

/**
 * Applications and their sending settings. Ingress re-reads an application through a cache of at
 * most `SER_INGRESS_CONFIG_CACHE_MS` (≤ 30 s), so a change here reaches every replica within that.
 */
@Injectable()
export class ApplicationsService {
  constructor(private readonly repo: TenantConfigRepository) {}

  async createApplication(tenantId: string, input: CreateApplicationInput): Promise<ApplicationDocument> {
    orNotFound(await this.repo.findTenant(tenantId), 'tenant');
    const { name, allowedFromDomains, ...settings } = input;
    const app: ApplicationDocument = {
      _id: newId('app'),
      tenantId,
      name,
      status: 'active',
      allowedFromDomains,
      ...settings,
      createdAt: new Date(),
    };
    await this.repo.applications.insertOne(app);
    return app;
  }

  async updateApplication(appId: string, patch: UpdateApplicationInput): Promise<ApplicationDocument> {
    const update = applicationUpdate(patch);
    const updated =
      update === undefined
        ? await this.repo.findApplicationById(appId)
        : await this.repo.applications.findOneAndUpdate({ _id: appId }, update, { returnDocument: 'after' });
    return orNotFound(updated, 'application');
  }
}
