import type { RelayConfig } from '@ser/config';
import { MessageRepository, TenantConfigRepository } from '@ser/data';
import type { DkimKeyDocument } from '@ser/data';
import { CONFIG } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import { orNotFound } from '../http/problem';
import { checkDkimKey } from './dkim-check';
import type { DkimKeyReport } from './dkim-check';
import { checkDmarc } from './dmarc-check';
import type { DmarcReport } from './dmarc-check';
import { NodeDnsLookup } from './dns-lookup';
import type { DnsLookup } from './dns-lookup';
import { combine, warning, worstStatus } from './findings';
import type { HealthStatus } from './findings';
import { checkSpf } from './spf-check';
import type { SpfDomainReport, SpfSettings } from './spf-check';

export interface DnsHealthReport {
  domainId: string;
  domain: string;
  checkedAt: Date;
  status: HealthStatus;
  dkim: { keys: DkimKeyReport[]; status: HealthStatus; advice: string[] };
  dmarc: DmarcReport;
  spf: { sendingIps: string[]; domains: SpfDomainReport[]; status: HealthStatus; advice: string[] };
  /** Every section's advice, in the order dkim, dmarc, spf. */
  advice: string[];
}

/** Envelope-sender domains of the last 30 days checked besides the domain itself. */
const SENDER_WINDOW_MS = 30 * 24 * 3600 * 1000;
const MAX_SENDER_DOMAINS = 50;
/** Messages read to find them: enough for a varied tenant, bounded for a busy one. */
const MAX_MESSAGES_SCANNED = 5000;
const SPF_CONCURRENCY = 8;

/** Issue 5: what an operator should publish in DNS for a domain to pass DKIM, SPF and DMARC. */
@Injectable()
export class DnsHealthService {
  private readonly spf: SpfSettings;

  constructor(
    private readonly tenants: TenantConfigRepository,
    private readonly messages: MessageRepository,
    @Inject(CONFIG) private readonly relay: RelayConfig,
  ) {
    this.spf = {
      sendingIps: relay.SER_RELAY_SENDING_IPS,
      ...(relay.SER_RELAY_SPF_INCLUDE === undefined ? {} : { spfInclude: relay.SER_RELAY_SPF_INCLUDE }),
    };
  }

  async check(domainId: string): Promise<DnsHealthReport> {
    const domain = orNotFound(await this.tenants.findDomainById(domainId), 'domain');
    const keys = await this.tenants.dkimKeys
      .find({ domainId, tenantId: domain.tenantId, status: { $in: ['active', 'pending'] } })
      .toArray();
    const senders = await this.senderDomains(domain.tenantId, domain.name);
    // One resolver per report: its answers are memoised for this report only.
    const dns = new NodeDnsLookup({ servers: this.relay.SER_DNS_SERVERS });
    const [dkim, dmarc, spf] = await Promise.all([
      this.dkimSection(dns, keys),
      checkDmarc(dns, domain.name),
      this.spfSection(dns, domain.name, senders),
    ]);
    return {
      domainId,
      domain: domain.name,
      checkedAt: new Date(),
      status: worstStatus([dkim.status, dmarc.status, spf.status]),
      dkim,
      dmarc,
      spf,
      advice: [...dkim.advice, ...dmarc.advice, ...spf.advice],
    };
  }

  private async dkimSection(dns: DnsLookup, keys: DkimKeyDocument[]): Promise<DnsHealthReport['dkim']> {
    const reports = await Promise.all(keys.map((key) => checkDkimKey(dns, key)));
    const own = keys.some((key) => key.status === 'active')
      ? []
      : [warning('The domain has no active DKIM key: create one, publish its record and activate it')];
    return { keys: reports, ...combine(reports, own) };
  }

  private async spfSection(
    dns: DnsLookup,
    domain: string,
    senders: string[],
  ): Promise<DnsHealthReport['spf']> {
    const targets = [
      { domain, source: 'domain' as const },
      ...senders.map((sender) => ({ domain: sender, source: 'envelope-sender' as const })),
    ];
    const domains = await mapLimit(targets, SPF_CONCURRENCY, (t) =>
      checkSpf(dns, t.domain, t.source, this.spf),
    );
    return { sendingIps: [...this.spf.sendingIps], domains, ...combine(domains) };
  }

  /**
   * Distinct MAIL FROM domains of the tenant's recent messages, newest first. A find with a
   * projection, not `distinct` or an aggregation: FerretDB supports those only in part.
   */
  private async senderDomains(tenantId: string, own: string): Promise<string[]> {
    const cursor = this.messages.messages.find(
      { tenantId, createdAt: { $gte: new Date(Date.now() - SENDER_WINDOW_MS) } },
      { projection: { _id: 0, envelope: 1 }, sort: { createdAt: -1 }, limit: MAX_MESSAGES_SCANNED },
    );
    const domains = new Set<string>();
    try {
      for await (const message of cursor) {
        const mailFrom = message.envelope.mailFrom;
        const domain = mailFrom.slice(mailFrom.lastIndexOf('@') + 1).toLowerCase();
        if (mailFrom.includes('@') && domain !== '' && domain !== own) {
          domains.add(domain);
        }
        if (domains.size >= MAX_SENDER_DOMAINS) {
          break;
        }
      }
    } finally {
      await cursor.close();
    }
    return [...domains];
  }
}

async function mapLimit<T, R>(items: T[], limit: number, run: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const index = next++;
      results[index] = await run(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
