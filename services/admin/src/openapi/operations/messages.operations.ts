import { auditQuerySchema } from '../../audit/audit.schemas';
import { messageSearchSchema } from '../../messages/message-search.schemas';
import { messageActionSchema, quarantineQuerySchema } from '../../messages/quarantine.schemas';
import { applicationsQuerySchema, summaryQuerySchema } from '../../reports/reports.schemas';
import type { OperationRegistry } from '../operation-spec';

const json = 'application/json';
const csv = 'text/csv';

/** Messages, quarantine decisions, the audit log and reports (docs/api.md). */
export const MESSAGE_OPERATIONS: OperationRegistry = {
  'GET /v1/messages': {
    operationId: 'searchMessages',
    summary: "Search a tenant's messages",
    description:
      'Newest first; every filter given must match. `subject` is matched by the hash of its normalised form.',
    tags: ['messages'],
    query: messageSearchSchema,
    status: 200,
    response: { description: 'A page of messages', content: { [json]: 'MessageSearchPage' } },
    errors: [404],
  },
  'GET /v1/messages/{messageId}': {
    operationId: 'getMessage',
    summary: 'Read a message with its recipients and timeline',
    description: 'Never the signature header or the body. A message deleted by retention is a 410.',
    tags: ['messages'],
    status: 200,
    response: { description: 'The message', content: { [json]: 'Message' } },
    errors: [404, 410],
  },
  'GET /v1/messages/{messageId}/raw': {
    operationId: 'downloadMessage',
    summary: 'Download the message as egress sends it',
    description:
      'DKIM signature headers and the stored body, as an .eml attachment; audited as `message.download` ' +
      'before the first byte. Past retention or without a stored body: 410.',
    tags: ['messages'],
    status: 200,
    response: { description: 'The raw message', content: { 'message/rfc822': 'binary' } },
    errors: [404, 410],
  },
  'GET /v1/quarantine': {
    operationId: 'listQuarantine',
    summary: "List a tenant's quarantined or held messages",
    description: 'Newest first, a page after `cursor`.',
    tags: ['quarantine'],
    query: quarantineQuerySchema,
    status: 200,
    response: { description: 'A page of messages', content: { [json]: 'QuarantinePage' } },
    errors: [404],
  },
  'POST /v1/messages/{messageId}/release': {
    operationId: 'releaseMessage',
    summary: 'Release a quarantined message',
    description:
      'Overrules the scan verdict (a held message is retried instead). A message in another state is a 409.',
    tags: ['quarantine'],
    body: messageActionSchema,
    bodyOptional: true,
    status: 200,
    response: { description: 'Where the message went', content: { [json]: 'MessageAction' } },
    errors: [404, 409],
  },
  'POST /v1/messages/{messageId}/retry': {
    operationId: 'retryMessage',
    summary: 'Retry a held message',
    description: 'The stage that held it runs again. A message in another state, or a running job, is a 409.',
    tags: ['quarantine'],
    body: messageActionSchema,
    bodyOptional: true,
    status: 200,
    response: { description: 'Where the message went', content: { [json]: 'MessageAction' } },
    errors: [404, 409],
  },
  'DELETE /v1/messages/{messageId}': {
    operationId: 'deleteMessage',
    summary: 'Delete a quarantined, held or rejected message',
    description: 'Removes the body from the store; the record stays as `deleted`. Other states are a 409.',
    tags: ['quarantine'],
    status: 204,
    response: { description: 'Deleted' },
    errors: [404, 409],
  },
  'GET /v1/audit': {
    operationId: 'listAudit',
    summary: 'Read the audit log',
    description:
      'Decisions newest first, at most 100; pass the oldest `at` seen as `to` to read further back.',
    tags: ['audit'],
    query: auditQuerySchema,
    status: 200,
    response: { description: 'Audit entries', content: { [json]: 'AuditPage' } },
  },
  'GET /v1/reports/summary': {
    operationId: 'summaryReport',
    summary: 'Counts of a tenant or one application',
    description:
      'From the statistics buckets, over a period widened to whole UTC hours. CSV with `format=csv` or ' +
      '`Accept: text/csv`.',
    tags: ['reports'],
    query: summaryQuerySchema,
    status: 200,
    response: { description: 'The report', content: { [json]: 'SummaryReport', [csv]: 'text' } },
    errors: [404, 503],
  },
  'GET /v1/reports/applications': {
    operationId: 'applicationsReport',
    summary: 'Counts and credential use per application',
    description: "Every application of the tenant, oldest first, with the period's counts. JSON or CSV.",
    tags: ['reports'],
    query: applicationsQuerySchema,
    status: 200,
    response: { description: 'The report', content: { [json]: 'ApplicationsReport', [csv]: 'text' } },
    errors: [404, 503],
  },
};
