import { newId, TenantConfigRepository } from '@ser/data';
import type { ApplicationDocument } from '@ser/data';
import { Injectable } from '@nestjs/common';
import { pageOf } from '../http/page';
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

  /** One page by id; `after` is the previous page's last id. */
  async listApplications(tenantId: string, after: string | undefined, limit: number) {
    orNotFound(await this.repo.findTenant(tenantId), 'tenant');
    const found = await this.repo.applications
      .find({ tenantId, ...(after === undefined ? {} : { _id: { $gt: after } }) })
      .sort({ _id: 1 })
      .limit(limit + 1)
      .toArray();
    return pageOf(found, limit, (app) => app._id);
  }

  async getApplication(appId: string): Promise<ApplicationDocument> {
    return orNotFound(await this.repo.findApplicationById(appId), 'application');
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
