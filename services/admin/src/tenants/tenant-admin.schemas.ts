import { z } from 'zod';
import { scanPolicyPatch } from '../settings/scan-policy';
import { deliverySettingsPatch } from './delivery-settings';
import { RSA_KEY_SIZES } from './dkim-key-material';
import { DOMAIN_NAME } from './domain-name';

export { DOMAIN_NAME } from './domain-name';

export const domainName = z.string().trim().toLowerCase().regex(DOMAIN_NAME, 'not a valid domain name');

const tenantName = z.string().trim().min(1).max(200);

export const createTenantSchema = z.object({ name: tenantName }).strict();

export const TENANTS_PAGE_DEFAULT = 50;
export const TENANTS_PAGE_MAX = 200;

/** `GET /v1/tenants`: a page of tenants by id. */
export const tenantsQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(TENANTS_PAGE_MAX).default(TENANTS_PAGE_DEFAULT),
    /** The last id of the previous page (its `nextCursor`). */
    cursor: z
      .string()
      .regex(/^ten_[A-Za-z0-9]{1,64}$/, 'not a tenant id')
      .optional(),
  })
  .strict();

/**
 * JSON merge patch of a tenant, as for applications: `scanPolicy` merges key by key, the delivery
 * settings (`routes`, `sourceAddresses`...) are replaced whole, `null` removes.
 */
export const updateTenantSchema = z
  .object({
    name: tenantName.optional(),
    /** `suspended`: none of the tenant's applications can log in or submit (operators only). */
    status: z.enum(['active', 'suspended']).optional(),
    scanPolicy: scanPolicyPatch.nullable().optional(),
    dkimNoKeyPolicy: z.enum(['hold', 'send_unsigned']).nullable().optional(),
    /** Days messages are kept for search and samples (docs/api.md, Retention); `null`: 30. */
    retentionDays: z.number().int().min(1).max(365).nullable().optional(),
    /** Whether `tenant-viewer` tokens may download raw samples; `null`: no. */
    viewerSamples: z.boolean().nullable().optional(),
    ...deliverySettingsPatch,
  })
  .strict()
  .refine((patch) => Object.keys(patch).length > 0, {
    error: 'the body must change at least one field',
    when: (payload) => payload.issues.length === 0,
  });
export type UpdateTenantInput = z.infer<typeof updateTenantSchema>;
export const createDomainSchema = z.object({ name: domainName }).strict();
/** A selector is one or more DNS labels (RFC 6376 §3.1 allows `sub.selector`), lowercase. */
const DKIM_SELECTOR = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

/** A PEM private key is a few kilobytes at most (4096-bit RSA, PKCS#1: about 3.3 KB). */
const MAX_PEM_CHARACTERS = 16_384;

export const createDkimKeySchema = z
  .object({
    algorithm: z.enum(['rsa', 'ed25519']).default('rsa'),
    bits: z.literal(RSA_KEY_SIZES, { error: `expected one of ${RSA_KEY_SIZES.join(', ')}` }).optional(),
    selector: z
      .string()
      .trim()
      .toLowerCase()
      .max(200)
      .regex(DKIM_SELECTOR, 'not a valid selector: DNS labels of letters, digits and hyphens')
      .optional(),
    privateKeyPem: z.string().min(1).max(MAX_PEM_CHARACTERS).optional(),
  })
  .strict()
  .superRefine((input, ctx) => {
    if (input.bits !== undefined && input.algorithm !== 'rsa') {
      ctx.addIssue({ code: 'custom', path: ['bits'], message: 'only for algorithm rsa' });
    } else if (input.bits !== undefined && input.privateKeyPem !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['bits'],
        message: 'the size of an imported key is read from the key',
      });
    }
  });
export type CreateDkimKeyInput = z.infer<typeof createDkimKeySchema>;

/** `force` overrides a safety check (the DNS record on activation, the last active key on retirement). */
export const forceSchema = z.object({ force: z.boolean().default(false) }).strict();
export const activateDkimKeySchema = forceSchema;
export const retireDkimKeySchema = forceSchema;
export const rewrapDkimKeysSchema = z.object({}).strict();
