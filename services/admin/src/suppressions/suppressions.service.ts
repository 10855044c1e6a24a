import { AuditRepository, SuppressionRepository, TenantConfigRepository } from '@ser/data';
import type { SuppressionDocument } from '@ser/data';
import { Injectable } from '@nestjs/common';
import { orNotFound, problems } from '../http/problem';
import type { CreateSuppressionInput } from './suppressions.schemas';

/** A suppression as the API shows it: the address is its id within the tenant. */
export function suppressionView(entry: SuppressionDocument) {
  return {
    address: entry.address,
    reason: entry.reason,
    reply: entry.reply,
    messageId: entry.messageId,
    createdAt: entry.createdAt,
    expiresAt: entry.expiresAt,
  };
}

export type SuppressionView = ReturnType<typeof suppressionView>;

/** The operators' side of a tenant's suppression list; egress adds hard bounces to the same list. */
@Injectable()
export class SuppressionsService {
  constructor(
    private readonly tenants: TenantConfigRepository,
    private readonly suppressions: SuppressionRepository,
    private readonly audit: AuditRepository,
  ) {}

  async list(tenantId: string, page: { limit: number; cursor?: string }) {
    await this.requireTenant(tenantId);
    // One more than the page: its presence says whether a next page exists.
    const found = await this.suppressions.list(tenantId, { limit: page.limit + 1, after: page.cursor });
    const items = found.slice(0, page.limit);
    return {
      items: items.map(suppressionView),
      nextCursor: found.length > page.limit ? (items.at(-1)?.address ?? null) : null,
    };
  }

  async get(tenantId: string, address: string): Promise<SuppressionView> {
    await this.requireTenant(tenantId);
    return suppressionView(orNotFound(await this.suppressions.find(tenantId, address), 'suppression'));
  }

  /** Adds the address, or replaces the entry in force (a hard bounce becomes a manual entry). */
  async add(tenantId: string, input: CreateSuppressionInput, actor: string): Promise<SuppressionView> {
    await this.requireTenant(tenantId);
    const previous = await this.suppressions.find(tenantId, input.address);
    const entry = await this.suppressions.add({
      tenantId,
      address: input.address,
      reason: 'manual',
      ...(input.expiresAt === undefined ? {} : { expiresAt: input.expiresAt }),
    });
    await this.audit.record({
      actor,
      action: 'suppression.create',
      tenantId,
      target: { type: 'suppression', id: entry.address },
      details: {
        ...(entry.expiresAt === undefined ? {} : { expiresAt: entry.expiresAt }),
        ...(previous === null ? {} : { previousReason: previous.reason }),
      },
    });
    return suppressionView(entry);
  }

  async remove(tenantId: string, address: string, actor: string): Promise<void> {
    await this.requireTenant(tenantId);
    const entry = await this.suppressions.find(tenantId, address);
    if (entry === null || !(await this.suppressions.remove(tenantId, address))) {
      throw problems.notFound('suppression');
    }
    await this.audit.record({
      actor,
      action: 'suppression.delete',
      tenantId,
      target: { type: 'suppression', id: entry.address },
      details: { reason: entry.reason },
    });
  }

  private async requireTenant(tenantId: string): Promise<void> {
    orNotFound(await this.tenants.findTenant(tenantId), 'tenant');
  }
}
