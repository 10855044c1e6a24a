import { z } from 'zod';
import { futureDateTime } from '../http/future-date-time';
import { scanPolicy, scanPolicyPatch } from '../settings/scan-policy';
import { domainName } from '../tenants/tenant-admin.schemas';
import {
  allowedFromAddresses,
  allowedSourceIps,
  bulkPolicy,
  limits,
  limitsPatch,
  MAX_LIST_ENTRIES,
} from './application-settings';

const applicationName = z.string().trim().min(1).max(200);

/**
 * The API calls the source address allowlist `allowedIps` (the contract other tools use); it is
 * stored, and read by ingress, as `allowedSourceIps`, the name the API used first and still takes.
 */
function notBothIpNames(input: { allowedIps?: unknown; allowedSourceIps?: unknown }): boolean {
  return input.allowedIps === undefined || input.allowedSourceIps === undefined;
}
const ONE_IP_NAME = {
  error: 'give allowedIps or its former name allowedSourceIps, not both',
  path: ['allowedIps'],
};

function storedIpName<T extends { allowedIps?: V; allowedSourceIps?: V }, V>({
  allowedIps,
  ...rest
}: T): Omit<T, 'allowedIps'> {
  return allowedIps === undefined ? rest : { ...rest, allowedSourceIps: allowedIps };
}
const allowedFromDomains = z.array(domainName).max(MAX_LIST_ENTRIES);

export const createApplicationSchema = z
  .object({
    name: applicationName,
    allowedFromDomains: allowedFromDomains.default([]),
    allowedFromAddresses: allowedFromAddresses.optional(),
    allowedIps: allowedSourceIps.optional(),
    /** The former name of `allowedIps`, still accepted. */
    allowedSourceIps: allowedSourceIps.optional(),
    bulkPolicy: bulkPolicy.optional(),
    limits: limits.optional(),
    scanPolicy: scanPolicy.optional(),
  })
  .strict()
  .refine(notBothIpNames, ONE_IP_NAME)
  .transform(storedIpName);
export type CreateApplicationInput = z.infer<typeof createApplicationSchema>;

/**
 * JSON merge patch (RFC 7396) of an application: an absent field is kept, `null` removes an
 * optional setting, `limits` and `scanPolicy` merge key by key and lists are replaced whole. `name`, `status` and
 * `allowedFromDomains` always exist on an application, so they cannot be removed (`[]` allows
 * every domain of the tenant). An empty patch is refused: it is most often a body the JSON parser
 * skipped because of its content type, and answering 200 would hide that.
 */
export const updateApplicationSchema = z
  .object({
    name: applicationName.optional(),
    status: z.enum(['active', 'suspended']).optional(),
    allowedFromDomains: allowedFromDomains.optional(),
    allowedFromAddresses: allowedFromAddresses.nullable().optional(),
    allowedIps: allowedSourceIps.nullable().optional(),
    /** The former name of `allowedIps`, still accepted. */
    allowedSourceIps: allowedSourceIps.nullable().optional(),
    bulkPolicy: bulkPolicy.nullable().optional(),
    limits: limitsPatch.nullable().optional(),
    scanPolicy: scanPolicyPatch.nullable().optional(),
  })
  .strict()
  .refine((patch) => Object.keys(patch).length > 0, {
    error: 'the body must change at least one field',
    // Only when the body is otherwise valid: `{"tenantId":…}` is an unknown key, not an empty patch.
    when: (payload) => payload.issues.length === 0,
  })
  .refine(notBothIpNames, ONE_IP_NAME)
  .transform(storedIpName);
export type UpdateApplicationInput = z.infer<typeof updateApplicationSchema>;

export const createCredentialSchema = z
  .object({
    expiresAt: futureDateTime.optional(),
  })
  .strict();
export type CreateCredentialInput = z.infer<typeof createCredentialSchema>;

/** Revocation takes no options; an empty object (or no body) is the only valid body. */
export const revokeCredentialSchema = z.object({}).strict();

export const APPLICATIONS_PAGE_DEFAULT = 50;
export const APPLICATIONS_PAGE_MAX = 200;

/** `GET /v1/tenants/{tenantId}/applications`: a page of the tenant's applications by id. */
export const applicationsQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(APPLICATIONS_PAGE_MAX).default(APPLICATIONS_PAGE_DEFAULT),
    /** The last id of the previous page (its `nextCursor`). */
    cursor: z
      .string()
      .regex(/^app_[A-Za-z0-9]{1,64}$/, 'not an application id')
      .optional(),
  })
  .strict();
