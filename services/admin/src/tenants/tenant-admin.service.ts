import type { RelayConfig } from '@ser/config';
import { AuditRepository, isDuplicateKeyError, newId, TenantConfigRepository } from '@ser/data';
import type { DomainDocument, TenantDocument } from '@ser/data';
import { CONFIG } from '@ser/runtime';
import { SecretBox } from '@ser/security';
import { Inject, Injectable } from '@nestjs/common';
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

  async createDomain(tenantId: string, name: string): Promise<DomainDocument> {
    await this.getTenant(tenantId);
    const domain: DomainDocument = { _id: newId('dom'), tenantId, name, createdAt: new Date() };
    try {
      await this.repo.domains.insertOne(domain);
    } catch (error) {
      if (isDuplicateKeyError(error)) {
        throw problems.conflict(`domain ${name} is already registered`);
      }
      throw error;
    }
    return domain;
  }
}

function notFound(what: string): never {
  throw problems.notFound(what);
}
