import type { RelayConfig } from '@ser/config';
import { dkimKeyAad, isDuplicateKeyError, newId, TenantConfigRepository } from '@ser/data';
import type { DkimKeyDocument, DomainDocument, TenantDocument } from '@ser/data';
import { CONFIG } from '@ser/runtime';
import { SecretBox } from '@ser/security';
import { Inject, Injectable } from '@nestjs/common';
import { Resolver } from 'node:dns/promises';
import type { z } from 'zod';
import { problems } from '../http/problem';
import { mergePatchUpdate } from '../settings/merge-patch-update';
import { dkimDnsRecord, generateDkimKey, newSelector, publicKeyOf } from './dkim-key-material';
import type { DnsRecord } from './dkim-key-material';
import type { activateDkimKeySchema, createDkimKeySchema, UpdateTenantInput } from './tenant-admin.schemas';

export interface DkimKeyView {
  id: string;
  domainId: string;
  domain: string;
  selector: string;
  algorithm: string;
  status: string;
  dnsRecord: DnsRecord;
  createdAt: Date;
}

/** Tenants, domains and DKIM keys: the admin service is the only writer of tenant configuration. */
@Injectable()
export class TenantAdminService {
  private readonly resolver = new Resolver({ timeout: 3000, tries: 2 });

  constructor(
    private readonly repo: TenantConfigRepository,
    private readonly box: SecretBox,
    @Inject(CONFIG) config: RelayConfig,
  ) {
    if (config.SER_DNS_SERVERS.length > 0) {
      this.resolver.setServers(config.SER_DNS_SERVERS);
    }
  }

  async createTenant(name: string): Promise<TenantDocument> {
    const tenant: TenantDocument = { _id: newId('ten'), name, status: 'active', createdAt: new Date() };
    await this.repo.tenants.insertOne(tenant);
    return tenant;
  }

  async getTenant(tenantId: string): Promise<TenantDocument> {
    return (await this.repo.findTenant(tenantId)) ?? notFound('tenant');
  }

  /** A merge patch, like an application's: `null` removes the scan policy or one of its fields. */
  async updateTenant(tenantId: string, patch: UpdateTenantInput): Promise<TenantDocument> {
    const update = mergePatchUpdate(patch, ['scanPolicy']);
    const updated =
      update === undefined
        ? await this.repo.findTenant(tenantId)
        : await this.repo.tenants.findOneAndUpdate({ _id: tenantId }, update, { returnDocument: 'after' });
    return updated ?? notFound('tenant');
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

  async createDkimKey(domainId: string, input: z.infer<typeof createDkimKeySchema>): Promise<DkimKeyView> {
    const domain = (await this.repo.findDomainById(domainId)) ?? notFound('domain');
    const material = generateDkimKey(input.algorithm);
    const id = newId('dk');
    const key: DkimKeyDocument = {
      _id: id,
      tenantId: domain.tenantId,
      domainId,
      domain: domain.name,
      selector: input.selector ?? newSelector(),
      algorithm: input.algorithm,
      publicKey: material.publicKey,
      privateKey: this.box.seal(material.privateKeyPem, dkimKeyAad(id)),
      status: 'pending',
      createdAt: new Date(),
    };
    try {
      await this.repo.dkimKeys.insertOne(key);
    } catch (error) {
      if (isDuplicateKeyError(error)) {
        throw problems.conflict(`selector ${key.selector} already exists for ${domain.name}`);
      }
      throw error;
    }
    return dkimKeyView(key);
  }

  /** Activates a key once its TXT record is published and matches (or when forced by an operator). */
  async activateDkimKey(keyId: string, input: z.infer<typeof activateDkimKeySchema>): Promise<DkimKeyView> {
    const key = (await this.repo.findDkimKeyById(keyId)) ?? notFound('DKIM key');
    if (key.status === 'retired') {
      throw problems.conflict('a retired key cannot be activated again');
    }
    if (!input.force) {
      await this.checkPublished(key);
    }
    const activatedAt = new Date();
    await this.repo.dkimKeys.updateOne(
      { _id: keyId, status: { $ne: 'retired' } },
      { $set: { status: 'active', activatedAt } },
    );
    return dkimKeyView({ ...key, status: 'active', activatedAt });
  }

  private async checkPublished(key: DkimKeyDocument): Promise<void> {
    const name = `${key.selector}._domainkey.${key.domain}`;
    let records: string[][];
    try {
      records = await this.resolver.resolveTxt(name);
    } catch (error) {
      throw problems.unprocessable(
        `no TXT record found at ${name} (${(error as { code?: string }).code ?? 'error'})`,
      );
    }
    if (!records.some((chunks) => publicKeyOf(chunks.join('')) === key.publicKey)) {
      throw problems.unprocessable(`the TXT record at ${name} does not publish this key`);
    }
  }
}

function notFound(what: string): never {
  throw problems.notFound(what);
}

function dkimKeyView(key: DkimKeyDocument): DkimKeyView {
  return {
    id: key._id,
    domainId: key.domainId,
    domain: key.domain,
    selector: key.selector,
    algorithm: key.algorithm,
    status: key.status,
    dnsRecord: dkimDnsRecord(key.domain, key.selector, key.algorithm, key.publicKey),
    createdAt: key.createdAt,
  };
}
