import { z } from 'zod';
import { scanPolicyPatch } from '../settings/scan-policy';

/** A lowercase DNS name of at least two labels (RFC 1035 §2.3.4 lengths). */
export const DOMAIN_NAME = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/;

export const domainName = z.string().trim().toLowerCase().regex(DOMAIN_NAME, 'not a valid domain name');

const tenantName = z.string().trim().min(1).max(200);

export const createTenantSchema = z.object({ name: tenantName }).strict();

/** JSON merge patch of a tenant, as for applications: `scanPolicy` merges key by key, `null` removes. */
export const updateTenantSchema = z
  .object({
    name: tenantName.optional(),
    scanPolicy: scanPolicyPatch.nullable().optional(),
  })
  .strict()
  .refine((patch) => Object.keys(patch).length > 0, {
    error: 'the body must change at least one field',
    when: (payload) => payload.issues.length === 0,
  });
export type UpdateTenantInput = z.infer<typeof updateTenantSchema>;
export const createDomainSchema = z.object({ name: domainName }).strict();
export const createDkimKeySchema = z
  .object({
    algorithm: z.enum(['rsa', 'ed25519']).default('rsa'),
    selector: z
      .string()
      .regex(/^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/i, 'not a valid selector')
      .optional(),
  })
  .strict();
export const activateDkimKeySchema = z.object({ force: z.boolean().default(false) }).strict();
