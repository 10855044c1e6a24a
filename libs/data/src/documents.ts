import type { MessageState, RecipientState } from '@ser/contracts';
import type { SealedSecret } from '@ser/security';

export interface TenantDocument {
  _id: string;
  name: string;
  status: 'active' | 'suspended';
  createdAt: Date;
}

export interface DomainDocument {
  _id: string;
  tenantId: string;
  /** Lowercase A-label. Unique across tenants: a domain belongs to one organisation. */
  name: string;
  createdAt: Date;
}

export type DkimAlgorithm = 'rsa' | 'ed25519';
export type DkimKeyStatus = 'pending' | 'active' | 'retired';

export interface DkimKeyDocument {
  _id: string;
  tenantId: string;
  domainId: string;
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  /** Base64 of the SubjectPublicKeyInfo (RSA) or raw 32-byte key (Ed25519), as in the TXT `p=`. */
  publicKey: string;
  privateKey: SealedSecret;
  status: DkimKeyStatus;
  createdAt: Date;
  activatedAt?: Date;
}

export interface ApplicationDocument {
  _id: string;
  tenantId: string;
  name: string;
  status: 'active' | 'suspended';
  /** Header From domains this application may use; empty means every domain of its tenant. */
  allowedFromDomains: string[];
  /**
   * Header From addresses this application may use, lowercase; `*` in the local part matches any
   * run of characters (`alerts-*@acme.test`, `*@acme.test`). Absent or empty: any address in the
   * allowed domains.
   */
  allowedFromAddresses?: string[];
  /** Source addresses or CIDR blocks (IPv4 and IPv6) the application may connect from; absent or empty: any. */
  allowedSourceIps?: string[];
  /** What ingress does with a message that looks like bulk mail; `reject` when absent. */
  bulkPolicy?: BulkPolicy;
  /** Per-application overrides of the ingress defaults (`SER_INGRESS_RATE_*`, connections). */
  limits?: ApplicationLimits;
  createdAt: Date;
}

export type BulkPolicy = 'reject' | 'flag';

export interface ApplicationLimits {
  messagesPerMinute?: number;
  messagesPerDay?: number;
  recipientsPerDay?: number;
  /** Concurrent SMTP sessions of this application on one ingress replica. */
  maxConnections?: number;
}

export interface CredentialDocument {
  _id: string;
  tenantId: string;
  appId: string;
  username: string;
  secretHash: string;
  status: 'active' | 'revoked';
  createdAt: Date;
  /** The credential stops working at this time (rotation with overlap); absent: never. */
  expiresAt?: Date;
  lastUsedAt?: Date;
  lastUsedIp?: string;
}

export interface MessageDocument {
  _id: string;
  tenantId: string;
  appId: string;
  credentialId: string;
  envelope: { mailFrom: string; rcptTo: string[] };
  headerFrom: string;
  fromDomain: string;
  subject?: string;
  /** The message looked like bulk mail and the application's bulk policy is `flag`. */
  bulk?: boolean;
  size: number;
  state: MessageState;
  reason?: string;
  av?: { engine: 'clamav'; result: 'clean' | 'infected'; signature?: string };
  dkim?: { domain: string; selector: string; keyId: string; headers: string };
  client: { ip: string; tls: boolean };
  createdAt: Date;
  updatedAt: Date;
  expiresAt: Date;
}

/** The per-recipient delivery ledger: one document per message and recipient (invariant 3). */
export interface RecipientDocument {
  _id: string;
  messageId: string;
  tenantId: string;
  address: string;
  domain: string;
  state: RecipientState;
  attempts: number;
  lastReply?: string;
  updatedAt: Date;
}

export interface EventDocument {
  _id: string;
  v: 1;
  type: string;
  at: Date;
  tenantId?: string;
  appId?: string;
  messageId?: string;
  recipient?: string;
  data: Record<string, unknown>;
}

export const COLLECTIONS = {
  tenants: 'tenants',
  domains: 'domains',
  dkimKeys: 'dkim_keys',
  applications: 'applications',
  credentials: 'credentials',
  messages: 'messages',
  recipients: 'recipients',
  events: 'events',
} as const;

/** Associated data binding a sealed DKIM private key to its key document. */
export function dkimKeyAad(keyId: string): string {
  return `dkim_keys/${keyId}`;
}
