// Views of the admin API the CLI reads (docs/api.md). Only the fields the CLI uses are listed.

/** A TXT record to publish. `strings` splits long values into 255-byte character-strings. */
export interface DnsRecordView {
  name: string;
  type: string;
  value: string;
  strings?: string[];
}

export interface TenantView {
  id: string;
  name: string;
  status?: string;
}

export interface DomainView {
  id: string;
  tenantId: string;
  name: string;
  verification?: DnsRecordView;
  /** `null` (or absent, before domain verification existed) until the verification record is checked. */
  verifiedAt?: string | null;
}

/** Whether the domain still has a verification record to publish. */
export function needsVerification(domain: DomainView): boolean {
  return domain.verification !== undefined && typeof domain.verifiedAt !== 'string';
}

export interface DkimKeyView {
  id: string;
  domainId: string;
  domain: string;
  selector: string;
  algorithm: string;
  bits?: number;
  status: string;
  dnsRecord: DnsRecordView;
  activatedAt?: string;
  forced?: boolean;
}

export interface ApplicationView {
  id: string;
  tenantId: string;
  name: string;
  status: string;
  allowedFromDomains?: string[];
  allowedFromAddresses?: string[];
}

export interface CredentialView {
  id: string;
  appId: string;
  username: string;
  status: string;
  createdAt: string;
  expiresAt?: string;
  lastUsedAt?: string;
  lastUsedIp?: string;
}

/** Only the answer to `POST /v1/applications/{appId}/credentials` carries the password. */
export interface NewCredentialView extends CredentialView {
  password: string;
}

/** A page of a list route. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export interface ApplicationsReportView {
  applications: {
    appId: string;
    name: string;
    status: string;
    credentials: CredentialView[];
  }[];
}
