import type { DkimKeyDocument } from '@ser/data';
import { dkimDnsRecord } from './dkim-key-material';
import type { DnsRecord } from './dkim-key-material';

/** The API shape of a DKIM key: everything but the private key, with the record to publish. */
export interface DkimKeyView {
  id: string;
  tenantId: string;
  domainId: string;
  domain: string;
  selector: string;
  algorithm: DkimKeyDocument['algorithm'];
  bits?: number;
  origin?: DkimKeyDocument['origin'];
  status: DkimKeyDocument['status'];
  dnsRecord: DnsRecord;
  createdAt: Date;
  activatedAt?: Date;
  retiredAt?: Date;
}

export function dkimKeyView(key: DkimKeyDocument): DkimKeyView {
  return {
    id: key._id,
    tenantId: key.tenantId,
    domainId: key.domainId,
    domain: key.domain,
    selector: key.selector,
    algorithm: key.algorithm,
    ...(key.bits === undefined ? {} : { bits: key.bits }),
    ...(key.origin === undefined ? {} : { origin: key.origin }),
    status: key.status,
    dnsRecord: dkimDnsRecord(key.domain, key.selector, key.algorithm, key.publicKey),
    createdAt: key.createdAt,
    ...(key.activatedAt === undefined ? {} : { activatedAt: key.activatedAt }),
    ...(key.retiredAt === undefined ? {} : { retiredAt: key.retiredAt }),
  };
}
