import type { RelayConfig } from '@ser/config';
import { AuditRepository, isDuplicateKeyError, newId, TenantConfigRepository } from '@ser/data';
import type { DomainDocument } from '@ser/data';
import { CONFIG } from '@ser/runtime';
import { generateSecret } from '@ser/security';
import { Inject, Injectable } from '@nestjs/common';
import { NodeDnsLookup } from '../dns-health/dns-lookup';
import { pageOf } from '../http/page';
import { orNotFound, problems } from '../http/problem';
import { verificationRecord } from './domain.view';

/** Domains of a tenant, and the proof that the tenant controls each one. */
@Injectable()
export class DomainsService {
  constructor(
    @Inject(CONFIG) private readonly config: RelayConfig,
    private readonly repo: TenantConfigRepository,
    private readonly audit: AuditRepository,
  ) {}

  async create(tenantId: string, name: string): Promise<DomainDocument> {
    orNotFound(await this.repo.findTenant(tenantId), 'tenant');
    const domain: DomainDocument = {
      _id: newId('dom'),
      tenantId,
      name,
      verificationToken: newVerificationToken(),
      createdAt: new Date(),
    };
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

  get(domainId: string): Promise<DomainDocument> {
    return this.repo.findDomainById(domainId).then((domain) => orNotFound(domain, 'domain'));
  }

  /** One page by name; `after` is the previous page's last name. */
  async list(tenantId: string, after: string | undefined, limit: number) {
    orNotFound(await this.repo.findTenant(tenantId), 'tenant');
    const found = await this.repo.domains
      .find({ tenantId, ...(after === undefined ? {} : { name: { $gt: after } }) })
      .sort({ name: 1 })
      .limit(limit + 1)
      .toArray();
    return pageOf(found, limit, (domain) => domain.name);
  }

  /**
   * Looks for the verification TXT record now; `422` saying what was found when it is not there.
   * A domain created before verification existed gets its token here (publish it, then retry).
   */
  async verify(domainId: string, actor: string): Promise<DomainDocument> {
    let domain = await this.get(domainId);
    if (domain.verificationToken === undefined) {
      domain = orNotFound(
        await this.repo.domains.findOneAndUpdate(
          { _id: domainId, verificationToken: { $exists: false } },
          { $set: { verificationToken: newVerificationToken() } },
          { returnDocument: 'after' },
        ),
        'domain',
      );
    }
    const record = verificationRecord(domain);
    if (record === undefined) {
      throw new Error('a domain without a verification token after setting one');
    }
    const answer = await new NodeDnsLookup({ servers: this.config.SER_DNS_SERVERS }).txt(record.name);
    if (answer.status !== 'found' || !answer.records.includes(record.value)) {
      const found =
        answer.status === 'found' ? `found ${answer.records.length} other TXT record(s)` : answer.code;
      throw problems.unprocessable(`publish TXT ${record.value} at ${record.name} (${found})`);
    }
    const verified = orNotFound(
      await this.repo.domains.findOneAndUpdate(
        { _id: domainId },
        { $set: { verifiedAt: new Date() } },
        { returnDocument: 'after' },
      ),
      'domain',
    );
    await this.audit.record({
      actor,
      action: 'domain.verify',
      tenantId: verified.tenantId,
      target: { type: 'domain', id: domainId },
      details: { name: verified.name },
    });
    return verified;
  }
}

function newVerificationToken(): string {
  return `ser-verification=${generateSecret(24)}`;
}
