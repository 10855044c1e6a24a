import { MESSAGE_STATES } from '@ser/contracts';
import { z } from 'zod';
import { dateTime, dnsRecord, page } from './config-response.schemas';

/*
 * The answers of the message, quarantine, report, DNS-check and health routes, as docs/api.md
 * describes them (only the OpenAPI document uses these).
 */

const state = z.enum(MESSAGE_STATES);
const envelope = z.object({ mailFrom: z.string(), rcptTo: z.array(z.string()) });
const operatorAction = z.object({
  action: z.enum(['release', 'retry', 'delete']),
  actor: z.string(),
  at: dateTime,
});
const av = z.object({
  engine: z.literal('clamav'),
  result: z.enum(['clean', 'infected']),
  signature: z.string().optional(),
});
/** The scanner's verdict; its inner lists vary by engine, so they stay open. */
const scan = z
  .object({ decision: z.string(), reasons: z.array(z.string()), score: z.number().optional() })
  .loose();

/** `GET /v1/messages`: only these fields, never the signature, client or credential. */
export const messageSearchPage = page(
  z.object({
    id: z.string(),
    tenantId: z.string(),
    appId: z.string(),
    /** The message's state (the contract's name); `state` is the same. */
    status: state,
    state,
    headerFrom: z.string(),
    mailFrom: z.string(),
    rcptTo: z.array(z.string()),
    subject: z.string().optional(),
    size: z.int(),
    createdAt: dateTime,
    updatedAt: dateTime,
  }),
);

export const quarantinePage = page(
  z.object({
    id: z.string(),
    tenantId: z.string(),
    appId: z.string(),
    state,
    reason: z.string().optional(),
    headerFrom: z.string(),
    envelope,
    subject: z.string().optional(),
    size: z.int(),
    createdAt: dateTime,
    updatedAt: dateTime,
    scan: scan.optional(),
    av: av.optional(),
  }),
);

/** A message record with its recipients and timeline; never the signature header or the body. */
export const message = z
  .object({
    id: z.string(),
    tenantId: z.string(),
    appId: z.string(),
    credentialId: z.string(),
    envelope,
    headerFrom: z.string(),
    fromDomain: z.string(),
    subject: z.string().optional(),
    subjectHash: z.string().optional(),
    size: z.int(),
    /** The message's state (the contract's name); `state` is the same. */
    status: state,
    state,
    reason: z.string().optional(),
    client: z.object({ ip: z.string(), tls: z.boolean() }),
    av: av.optional(),
    scan: scan.optional(),
    dkim: z.object({ domain: z.string(), selector: z.string(), keyId: z.string() }).optional(),
    round: z.int().optional(),
    operatorAction: operatorAction.optional(),
    possibleDuplicates: z.int().optional(),
    createdAt: dateTime,
    updatedAt: dateTime,
    expiresAt: dateTime,
    recipients: z.array(
      z.object({
        address: z.string(),
        state: z.enum(['pending', 'deferred', 'delivered', 'bounced', 'expired', 'suppressed']),
        attempts: z.int(),
        lastReply: z.string().optional(),
        nextAttemptAt: dateTime.optional(),
        ambiguousAttempts: z.int().optional(),
      }),
    ),
    timeline: z.array(
      z.object({
        id: z.string(),
        type: z.string().describe('A dotted past-tense event name, e.g. message.accepted'),
        at: dateTime,
        recipient: z.string().optional(),
        data: z.record(z.string(), z.unknown()).optional(),
      }),
    ),
  })
  .loose();

/** What a release or retry answers: where the message went, and in which round. */
export const messageAction = z.object({
  id: z.string(),
  tenantId: z.string(),
  state,
  previousState: state,
  round: z.int(),
  operatorAction,
});

const counted = <K extends string>(key: K) => z.array(z.object({ [key]: z.string(), count: z.int() }));
const period = { tenantId: z.string(), from: dateTime, to: dateTime, tz: z.string() };

export const summaryReport = z.object({
  ...period,
  appId: z.string().optional(),
  counts: z.object({
    relay_requests: z.int(),
    accepted: z.int(),
    delivered: z.int(),
    deferred: z.int(),
    bounced: z.int(),
    expired: z.int(),
    suppressed: z.int(),
    quarantined: z.int(),
    held: z.record(z.string(), z.int()).describe('By hold reason'),
    rejected: z.record(z.string(), z.int()).describe('By rejection reason'),
  }),
  topFailingDomains: counted('domain'),
  senders: z.object({ headerFrom: counted('address'), envelope: counted('address') }),
  refusedIps: counted('ip'),
});

export const applicationsReport = z.object({
  ...period,
  applications: z.array(
    z.object({
      appId: z.string(),
      name: z.string(),
      status: z.string(),
      createdAt: dateTime,
      counts: z.record(z.string(), z.int()).describe('Plain metrics, with held and rejected as totals'),
      credentials: z.array(
        z.object({
          id: z.string(),
          username: z.string(),
          status: z.enum(['active', 'revoked']),
          createdAt: dateTime,
          expiresAt: dateTime.optional(),
          lastUsedAt: dateTime.optional(),
          lastUsedIp: z.string().optional(),
        }),
      ),
    }),
  ),
});

const healthStatus = z.enum(['ok', 'warnings', 'errors']);
const section = { status: healthStatus, advice: z.array(z.string()) };
const dmarcPolicy = z.enum(['none', 'quarantine', 'reject']).nullable();

export const dnsCheck = z.object({
  domainId: z.string(),
  domain: z.string(),
  checkedAt: dateTime,
  ...section,
  dkim: z.object({
    ...section,
    keys: z.array(
      z.object({
        keyId: z.string(),
        selector: z.string(),
        algorithm: z.string(),
        keyStatus: z.string(),
        name: z.string(),
        published: z.boolean(),
        matches: z.boolean(),
        record: z.string().nullable(),
        expected: dnsRecord,
        ...section,
      }),
    ),
  }),
  dmarc: z.object({
    present: z.boolean(),
    name: z.string(),
    inherited: z.boolean(),
    record: z.string().nullable(),
    policy: dmarcPolicy,
    subdomainPolicy: dmarcPolicy,
    pct: z.int().nullable(),
    rua: z.array(z.string()),
    ...section,
  }),
  spf: z.object({
    sendingIps: z.array(z.string()),
    ...section,
    domains: z.array(
      z.object({
        domain: z.string(),
        source: z.enum(['domain', 'envelope-sender']),
        recordStatus: z.enum(['found', 'none', 'permerror', 'temperror']),
        record: z.string().nullable(),
        authorised: z.boolean().nullable(),
        ips: z.array(
          z.object({
            ip: z.string(),
            result: z.enum(['pass', 'fail', 'softfail', 'neutral', 'none', 'permerror', 'temperror']),
            mechanism: z.string().optional(),
            domain: z.string().optional(),
            detail: z.string().optional(),
          }),
        ),
        ...section,
      }),
    ),
  }),
});

export const health = z.object({ status: z.literal('ok') });

export const readiness = z.object({
  status: z.enum(['ready', 'not_ready']),
  mongo: z.enum(['ok', 'unavailable']),
  redis: z.enum(['ok', 'unavailable']),
  servicesStarting: z.array(z.string()),
});
