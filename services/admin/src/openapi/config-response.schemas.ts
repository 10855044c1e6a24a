import { z } from 'zod';
import { scanPolicy } from '../settings/scan-policy';

/*
 * The answers of the configuration routes (tenants, domains, DKIM keys, applications,
 * credentials, suppressions, tokens, audit), as docs/api.md describes them. Only the OpenAPI
 * document uses these: the controllers build their views by hand, and the HTTP test checks the
 * document against the running routes.
 */

export const dateTime = z.iso.datetime();

/** A page of a cursor-paginated list: pass `nextCursor` as `cursor` for the next page. */
export const page = <T extends z.ZodType>(item: T) =>
  z.object({
    items: z.array(item),
    nextCursor: z.string().nullable().describe('The cursor of the next page; null on the last page'),
  });

/** RFC 9457 problem details, as the problem filter sends them. */
export const problem = z.object({
  type: z.string().describe('https://ser.dev/problems/<kind>, or about:blank for framework errors'),
  title: z.string(),
  status: z.int(),
  detail: z.string().optional(),
  errors: z
    .array(z.object({ path: z.string(), message: z.string() }))
    .optional()
    .describe('400 invalid-request: every issue; path (body) or (query) names the whole input'),
});

const smarthostRoute = z.object({
  domains: z.array(z.string()).optional(),
  host: z.string(),
  port: z.int(),
  tls: z.enum(['none', 'opportunistic', 'require', 'verify']),
  auth: z.object({ username: z.string(), passwordSet: z.literal(true) }).optional(),
});

export const tenant = z.object({
  id: z.string(),
  name: z.string(),
  status: z.enum(['active', 'suspended']),
  scanPolicy: scanPolicy.optional(),
  dkimNoKeyPolicy: z.enum(['hold', 'send_unsigned']).optional(),
  routes: z.array(smarthostRoute).optional().describe('Smarthost routes; passwords are never returned'),
  sourceAddresses: z.array(z.string()).optional(),
  dsn: z.boolean().optional(),
  suppressionDays: z.int().optional(),
  retentionDays: z.int().optional(),
  viewerSamples: z.boolean().optional(),
  createdAt: dateTime,
});

export const domain = z.object({
  id: z.string(),
  tenantId: z.string(),
  name: z.string(),
  verification: z
    .object({ name: z.string(), type: z.literal('TXT'), value: z.string() })
    .optional()
    .describe('The TXT record that proves control of the domain, to publish before POST …/verify'),
  verifiedAt: dateTime.nullable().describe('When the verification record was last found; null: never'),
  createdAt: dateTime,
});

export const dnsRecord = z.object({
  name: z.string(),
  type: z.literal('TXT'),
  value: z.string(),
  strings: z.array(z.string()).describe('The value split into character-strings of at most 255 bytes'),
});

export const dkimKey = z.object({
  id: z.string(),
  tenantId: z.string(),
  domainId: z.string(),
  domain: z.string(),
  selector: z.string(),
  algorithm: z.enum(['rsa', 'ed25519']),
  bits: z.int().optional(),
  origin: z.enum(['generated', 'imported']).optional(),
  status: z.enum(['pending', 'active', 'retired']),
  dnsRecord,
  createdAt: dateTime,
  activatedAt: dateTime.optional(),
  retiredAt: dateTime.optional(),
  warnings: z.array(z.string()).optional().describe('On creation: e.g. an imported RSA key under 2048 bits'),
  forced: z.boolean().optional().describe('On activation and retirement: whether force was used'),
});

export const dkimRewrap = z.object({
  keyId: z.string(),
  rewrapped: z.int(),
  failed: z.array(z.object({ id: z.string(), keyId: z.string(), reason: z.string() })),
  routePasswords: z.object({
    rewrapped: z.int(),
    failed: z.array(
      z.object({ tenantId: z.string(), route: z.int(), keyId: z.string(), reason: z.string() }),
    ),
  }),
});

export const application = z.object({
  id: z.string(),
  tenantId: z.string(),
  name: z.string(),
  status: z.enum(['active', 'suspended']),
  allowedFromDomains: z.array(z.string()),
  allowedFromAddresses: z.array(z.string()).optional(),
  allowedIps: z.array(z.string()).optional(),
  /** The same list under its former name. */
  allowedSourceIps: z.array(z.string()).optional(),
  bulkPolicy: z.enum(['reject', 'flag']).optional(),
  limits: z
    .object({
      messagesPerMinute: z.int().optional(),
      messagesPerDay: z.int().optional(),
      recipientsPerDay: z.int().optional(),
      maxConnections: z.int().optional(),
    })
    .optional(),
  scanPolicy: scanPolicy.optional(),
  createdAt: dateTime,
});

export const credential = z.object({
  id: z.string(),
  appId: z.string(),
  username: z.string(),
  status: z.enum(['active', 'revoked']),
  createdAt: dateTime,
  expiresAt: dateTime.optional(),
  lastUsedAt: dateTime.optional(),
  lastUsedIp: z.string().optional(),
});

/** The password appears in this answer only; it is stored as a scrypt hash. */
export const createdCredential = credential.extend({ password: z.string() });

export const suppression = z.object({
  address: z.string(),
  reason: z.enum(['hard_bounce', 'manual']),
  reply: z.string().optional(),
  messageId: z.string().optional(),
  createdAt: dateTime,
  expiresAt: dateTime.optional(),
});

export const token = z.object({
  id: z.string(),
  name: z.string(),
  role: z.enum(['operator', 'tenant-admin', 'tenant-viewer']),
  tenantId: z.string().optional(),
  createdAt: dateTime,
  createdBy: z.string(),
  lastUsedAt: dateTime.optional(),
  revokedAt: dateTime.optional(),
  revokedBy: z.string().optional(),
});

/** The secret appears in this answer only; only its SHA-256 is stored. */
export const createdToken = token.extend({ token: z.string().describe('ser.<tokenId>.<secret>') });

export const auditEntry = z.object({
  id: z.string(),
  at: dateTime,
  actor: z.string(),
  action: z.string(),
  tenantId: z.string().optional(),
  target: z.object({ type: z.string(), id: z.string() }),
  details: z.record(z.string(), z.unknown()).optional(),
});
