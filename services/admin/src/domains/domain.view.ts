import type { DomainDocument } from '@ser/data';

/** The label under which a tenant publishes its domain verification TXT record. */
export const VERIFICATION_LABEL = '_ser-verification';

export interface DnsRecordView {
  name: string;
  type: 'TXT';
  value: string;
}

/** The TXT record that proves control of the domain, for the tenant to publish. */
export function verificationRecord(
  domain: Pick<DomainDocument, 'name' | 'verificationToken'>,
): DnsRecordView | undefined {
  return domain.verificationToken === undefined
    ? undefined
    : { name: `${VERIFICATION_LABEL}.${domain.name}`, type: 'TXT', value: domain.verificationToken };
}

/** Picks the shown fields one by one, so a field added to the document is never shown by accident. */
export function domainView(domain: DomainDocument) {
  return {
    id: domain._id,
    tenantId: domain.tenantId,
    name: domain.name,
    verification: verificationRecord(domain),
    verifiedAt: domain.verifiedAt ?? null,
    createdAt: domain.createdAt,
  };
}
