import type { RelayConfig } from '@ser/config';
import { AuditRepository, newId, TenantConfigRepository } from '@ser/data';
import type { TenantDocument } from '@ser/data';
import { CONFIG } from '@ser/runtime';
import { SecretBox } from '@ser/security';
import { Inject, Injectable } from '@nestjs/common';
import { pageOf } from '../http/page';
import { problems } from '../http/problem';
import { mergePatchUpdate } from '../settings/merge-patch-update';
import { routeView, sealRoutes } from './delivery-settings';
import { rewrapRoutePasswords } from './route-password-rewrap';
import type { RoutePasswordRewrapResult } from './route-password-rewrap';
import { DkimKeyService } from './dkim-key.service';
import { DkimRecordCheck } from './dkim-record-check';
import type { UpdateTenantInput } from './tenant-admin.schemas';

/** Tenants, domains and DKIM keys: the admin service is the only writer of tenant configuration. */
@Injectable()
export class TenantAdminService {
  /** The DKIM key lifecycle, apart because it is most of the tenant configuration's logic. */
  readonly dkimKeys: DkimKeyService;

  constructor(
    private readonly repo: TenantConfigRepository,
    private readonly box: SecretBox,
    private readonly audit: AuditRepository,
    @Inject(CONFIG) config: RelayConfig,
  ) {
    this.dkimKeys = new DkimKeyService(repo, box, audit, new DkimRecordCheck(config.SER_DNS_SERVERS));
  }

  async createTenant(name: string): Promise<TenantDocument> {
    const tenant: TenantDocument = { _id: newId('ten'), name, status: 'active', createdAt: new Date() };
    await this.repo.tenants.insertOne(tenant);
    return tenant;
  }

  /** One page by id; `only` confines it to one tenant (a tenant token's own). */
  async listTenants(only: string | undefined, after: string | undefined, limit: number) {
    const ids = {
      ...(only === undefined ? {} : { $eq: only }),
      ...(after === undefined ? {} : { $gt: after }),
    };
    const found = await this.repo.tenants
      .find(Object.keys(ids).length === 0 ? {} : { _id: ids })
      .sort({ _id: 1 })
      .limit(limit + 1)
      .toArray();
    return pageOf(found, limit, (tenant) => tenant._id);
  }

  async getTenant(tenantId: string): Promise<TenantDocument> {
    return (await this.repo.findTenant(tenantId)) ?? notFound('tenant');
  }

  /**
   * A merge patch, like an application's: `null` removes the scan policy, one of its fields, or a
   * setting. Route AUTH passwords are sealed before they are stored; the audit entry names the
   * changed fields with the routes as the API shows them, never a password.
   */
  async updateTenant(tenantId: string, patch: UpdateTenantInput, actor: string): Promise<TenantDocument> {
    const { routes, ...rest } = patch;
    const sealed = routes === undefined || routes === null ? routes : sealRoutes(this.box, tenantId, routes);
    const update = mergePatchUpdate({ ...rest, ...(sealed === undefined ? {} : { routes: sealed }) }, [
      'scanPolicy',
    ]);
    const updated =
      update === undefined
        ? await this.repo.findTenant(tenantId)
        : await this.repo.tenants.findOneAndUpdate({ _id: tenantId }, update, { returnDocument: 'after' });
    if (updated === null) {
      return notFound('tenant');
    }
    await this.audit.record({
      actor,
      action: 'tenant.update',
      tenantId,
      target: { type: 'tenant', id: tenantId },
      details: {
        ...rest,
        ...(sealed === undefined ? {} : { routes: sealed === null ? null : sealed.map(routeView) }),
      },
    });
    return updated;
  }

  /** Smarthost AUTH passwords under the current master key (`POST /v1/dkim-keys/rewrap` does both). */
  async rewrapRoutePasswords(actor: string): Promise<RoutePasswordRewrapResult> {
    const result = await rewrapRoutePasswords(this.repo, this.box);
    await this.audit.record({
      actor,
      action: 'smarthost_password.rewrap',
      target: { type: 'master_key', id: this.box.keyId },
      details: { rewrapped: result.rewrapped, failed: result.failed.map((f) => f.tenantId) },
    });
    return result;
  }
}

function notFound(what: string): never {
  throw problems.notFound(what);
}
