import type { MessageState, RecipientState } from '@ser/contracts';
import type { SealedSecret } from '@ser/security';

export interface TenantDocument {
  _id: string;
  name: string;
  status: 'active' | 'suspended';
  /** The tenant's anti-virus/anti-spam policy; unset fields take the relay defaults. */
  scanPolicy?: ScanPolicy;
  /**
   * What the signer does when the From domain has no active DKIM key: `hold` the message (reason
   * `dkim_key_missing`; the default) or send it unsigned. An event is recorded either way.
   */
  dkimNoKeyPolicy?: 'hold' | 'send_unsigned';
  /**
   * Smarthost routes, first match wins: mail for the route's recipient domains (all mail when it
   * names none) goes through the route's host instead of the recipients' MX (docs/egress.md).
   */
  routes?: SmarthostRoute[];
  /** Local addresses egress binds outgoing connections to (dedicated IPs); absent: the shared pool. */
  sourceAddresses?: string[];
  /** Send an RFC 3464 delivery status notification to the envelope sender on bounce or expiry. */
  dsn?: boolean;
  /** Days a hard-bounced recipient stays suppressed; 0 turns automatic suppression off. */
  suppressionDays?: number;
  /**
   * Days a message (record, recipients and body) is kept for search and sample downloads; absent:
   * 30. Statistics and raw events are kept independently (docs/api.md, Retention).
   */
  retentionDays?: number;
  /** `tenant-viewer` tokens may download raw samples too (operators and tenant admins always can). */
  viewerSamples?: boolean;
  createdAt: Date;
}

/** TLS towards a destination: `verify` also checks the certificate chain and the host name. */
export type TlsPolicy = 'none' | 'opportunistic' | 'require' | 'verify';

export interface SmarthostRoute {
  /** Recipient domains (lowercase A-labels; `.example.com` also matches subdomains); empty: all. */
  domains?: string[];
  host: string;
  port: number;
  tls: TlsPolicy;
  /** SMTP AUTH towards the smarthost; the password sealed with the master key. */
  auth?: { username: string; password: SealedSecret };
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
  /** The TXT value that proves control of the domain (`_ser-verification.<name>`); see verifiedAt. */
  verificationToken?: string;
  /** When the verification TXT record was last found; absent: never verified. */
  verifiedAt?: Date;
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
  /** RSA modulus length in bits; absent for Ed25519. */
  bits?: number;
  /** Generated by the relay, or imported from an operator's PEM. */
  origin?: 'generated' | 'imported';
  createdAt: Date;
  activatedAt?: Date;
  retiredAt?: Date;
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
  /**
   * SHA-256 (lowercase hex) of the normalised `subject` (`subjectHash` in libs/mail: RFC 2047
   * decoded, NFC, whitespace collapsed), the indexed key of a subject search; set by ingress.
   */
  subjectHash?: string;
  /**
   * Lowercase header From and envelope MAIL FROM (`senderKeys` in libs/mail; the null sender left
   * out), the indexed keys of a sender search; set by ingress. Absent on messages stored before it.
   */
  senders?: string[];
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
  /**
   * The DKIM signature header(s) egress prepends (`headers`, CRLF-terminated, one per key when a
   * domain signs with RSA and Ed25519), and the keys that made them. Absent when unsigned.
   */
  dkim?: {
    domain: string;
    selector: string;
    keyId: string;
    headers: string;
    signatures?: { domain: string; selector: string; keyId: string; algorithm: DkimAlgorithm }[];
  };
  /** Sent without a DKIM signature because the tenant's no-key policy is `send_unsigned`. */
  unsigned?: { reason: 'dkim_key_missing'; domain: string };
  client: { ip: string; tls: boolean };
  /** Deliveries whose outcome was unknown after the final `.` (connection lost): possible duplicates. */
  possibleDuplicates?: number;
  /** This message is a delivery status notification the relay generated about message `of`. */
  dsnFor?: string;
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
  /** When egress tries a deferred recipient again. */
  nextAttemptAt?: Date;
  /** Attempts whose outcome was unknown after the final `.`; each may have been a delivery. */
  ambiguousAttempts?: number;
  /**
   * Set while a delivery attempt (its number) is under way. Found set by a later job, the worker
   * died mid-transaction: the outcome of that attempt is unknown.
   */
  inFlightAttempt?: number;
  /**
   * What is still to be done about the outcome last recorded, written in the same update: its
   * event, a suppression, a DSN entry. Cleared once done; a job that finds it set does it again
   * (every effect is idempotent), so a crash between the two loses none of them.
   */
  outbox?: RecipientOutbox;
  /** When `outbox` was written; set and unset with it (indexed: outboxes a job left behind). */
  outboxAt?: Date;
  updatedAt: Date;
}

export interface RecipientOutbox {
  event: { id: string; type: string; at: string; data: Record<string, unknown> };
  /** Put the address on the tenant's suppression list (a hard bounce), with this reply. */
  suppress?: { reply: string };
  /** Report the recipient in a DSN, if the tenant wants DSNs. */
  dsn?: { reply: string; remoteMta?: string; lastAttemptAt: Date; expired: boolean };
}

/** A recipient egress does not send to for a tenant (hard bounce, or added by an operator). */
export interface SuppressionDocument {
  /** `<tenantId>/<address>`. */
  _id: string;
  tenantId: string;
  /** Lowercase address. */
  address: string;
  reason: 'hard_bounce' | 'manual';
  /** The remote reply that caused it, for hard bounces. */
  reply?: string;
  messageId?: string;
  createdAt: Date;
  /** Absent: until removed. */
  expiresAt?: Date;
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
  /** Derived when reporting stores the event, so statistics can be recomputed cheaply (docs/reporting.md). */
  stats?: EventStats;
}

/** One counter an event adds 1 to: a metric name and a key (`''` for keyless metrics). */
export interface StatMetric {
  metric: string;
  key: string;
}

/** The statistics view of a stored event. */
export interface EventStats {
  /** The event's tenant and application, `''` when it has none (relay-wide events). */
  tenantId: string;
  appId: string;
  /** UTC start of the hour and of the day of the event's `at`. */
  hour: Date;
  day: Date;
  metrics: StatMetric[];
  /** The event's increments are in the buckets; false from storing until then (or a crash). */
  applied: boolean;
  /** When reporting stored the event (its clock, not the event's `at`). */
  recordedAt: Date;
}

/**
 * A statistics roll-up: every counter of one tenant for one UTC hour or day, per application,
 * metric and key (docs/reporting.md). Field names under `a`, `n` and `v` are encoded with
 * `encodeField` (`''` is `~`; `.`, `$`, `%`, `~`, NUL percent-encoded).
 */
export interface StatsRollupDocument {
  /** `<granularity>/<tenantId>/<bucket ISO>`. */
  _id: string;
  /** `''` for relay-wide events without a tenant. */
  tenantId: string;
  granularity: 'hour' | 'day';
  /** UTC start of the hour or day. */
  bucket: Date;
  /** UTC start of the day the bucket lies in (equal to `bucket` for day buckets). */
  day: Date;
  /** application → metric → key → count (`~`: the application `''`, the key of a keyless metric). */
  a: Record<string, Record<string, Record<string, number>>>;
  /** application → metric → keys held, against `ROLLUP_KEY_CAP`. */
  n: Record<string, Record<string, number>>;
  /** application → writes so far: a settle rewrites an application's counts only if it is unchanged. */
  v: Record<string, number>;
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
  suppressions: 'suppressions',
  statsRollups: 'stats_rollups',
  apiTokens: 'api_tokens',
} as const;

/** Associated data binding a sealed DKIM private key to its key document. */
export function dkimKeyAad(keyId: string): string {
  return `dkim_keys/${keyId}`;
}
