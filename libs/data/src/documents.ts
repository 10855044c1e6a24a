import type { MessageState, RecipientState } from '@ser/contracts';
import type { SealedSecret } from '@ser/security';

export interface TenantDocument {
  _id: string;
  name: string;
  status: 'active' | 'suspended';
  /** The tenant's anti-virus/anti-spam policy; unset fields take the relay defaults. */
  scanPolicy?: ScanPolicy;
  createdAt: Date;
}

/**
 * What the scanner does with a message (docs/scanning.md). Stored on the tenant and, as
 * overrides of single fields, on an application; unset fields fall back to the relay defaults.
 */
export interface ScanPolicy {
  /** Combined spam score (SpamAssassin points) from which a message is quarantined. */
  spamQuarantineScore?: number;
  /** Combined spam score from which a message is rejected; at least the quarantine score. */
  spamRejectScore?: number;
  /** A phishing finding (IDN homograph link, link text showing another host). */
  phishingAction?: ScanAction;
  /** Attachment types (file name extensions, lowercase, no dot) that are not allowed. */
  blockedAttachmentTypes?: string[];
  blockedAttachmentAction?: ScanAction;
  /** SpamAssassin enabled but unreachable: go on with spamscanner alone, or hold the message. */
  spamdUnavailable?: 'continue' | 'hold';
}

export type ScanAction = 'reject' | 'quarantine' | 'ignore';

/** The scanner's verdict, stored with the message and put in its event. */
export interface ScanVerdict {
  /** pass: on to signing; quarantine; reject (rejected_spam or rejected_policy). */
  decision: 'pass' | 'quarantine' | 'reject';
  /** Why, one short line per finding: `spam score 12.3 >= 10`, `blocked attachment: a.exe`. */
  reasons: string[];
  /** Combined spam score of the engines that ran. */
  score: number;
  engines: SpamEngineResult[];
  attachments: AttachmentFinding[];
  phishing: string[];
  /** Set when an enabled engine did not answer and the policy said to continue without it. */
  degraded?: string[];
}

export interface SpamEngineResult {
  engine: 'spamscanner' | 'spamd';
  status: 'ok' | 'unavailable' | 'skipped';
  score?: number;
  /** spamd: rule names with their points; spamscanner: its findings. */
  rules?: { name: string; score?: number; description?: string }[];
  /** Why the engine did not run or answer. */
  detail?: string;
}

export interface AttachmentFinding {
  filename?: string;
  contentType: string;
  /** The blocked type matched: a file name extension, or a type seen in the content (`exe`, `elf`). */
  type: string;
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
  /** Overrides of single fields of the tenant's scan policy for this application. */
  scanPolicy?: ScanPolicy;
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
  /** Anti-spam and attachment verdict (absent until scanned, and for AV rejections). */
  scan?: ScanVerdict;
  /**
   * How many times an operator sent the message through the pipeline again (retry of a held
   * message, release from quarantine); stage events of a later round carry it in their id.
   */
  round?: number;
  /** The operator decision that moved it out of quarantine or hold, last one. */
  operatorAction?: { action: 'release' | 'retry' | 'delete'; actor: string; at: Date };
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
  audit: 'audit',
} as const;

/** Associated data binding a sealed DKIM private key to its key document. */
export function dkimKeyAad(keyId: string): string {
  return `dkim_keys/${keyId}`;
}
