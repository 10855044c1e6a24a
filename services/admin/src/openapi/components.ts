import { z } from 'zod';
import {
  applicationsReport,
  dnsCheck,
  health,
  message,
  messageAction,
  messageSearchPage,
  quarantinePage,
  readiness,
  summaryReport,
} from './activity-response.schemas';
import {
  application,
  auditEntry,
  createdCredential,
  createdToken,
  credential,
  dkimKey,
  dkimRewrap,
  domain,
  page,
  problem,
  suppression,
  tenant,
  token,
} from './config-response.schemas';

/**
 * The named response shapes of the document (`#/components/schemas/<name>`); an operation names
 * its answer by one of these keys, so a typo is a compile error.
 */
export const RESPONSE_COMPONENTS = {
  Application: application,
  ApplicationPage: page(application),
  ApplicationsReport: applicationsReport,
  AuditPage: z.object({ items: z.array(auditEntry) }).describe('At most 100 entries, newest first'),
  CreatedCredential: createdCredential,
  CreatedToken: createdToken,
  Credential: credential,
  DkimKey: dkimKey,
  DkimRewrap: dkimRewrap,
  DnsCheck: dnsCheck,
  Domain: domain,
  DomainPage: page(domain),
  Health: health,
  Message: message,
  MessageAction: messageAction,
  MessageSearchPage: messageSearchPage,
  Problem: problem,
  QuarantinePage: quarantinePage,
  Readiness: readiness,
  SummaryReport: summaryReport,
  Suppression: suppression,
  SuppressionPage: page(suppression),
  Tenant: tenant,
  TenantPage: page(tenant),
  Token: token,
  TokenPage: page(token),
} satisfies Record<string, z.ZodType>;

export type ComponentName = keyof typeof RESPONSE_COMPONENTS;
