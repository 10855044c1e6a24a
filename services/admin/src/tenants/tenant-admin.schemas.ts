import { z } from 'zod';

/** A lowercase DNS name of at least two labels (RFC 1035 §2.3.4 lengths). */
export const DOMAIN_NAME = /^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z0-9-]{2,63}$/;

export const domainName = z.string().trim().toLowerCase().regex(DOMAIN_NAME, 'not a valid domain name');

export const createTenantSchema = z.object({ name: z.string().trim().min(1).max(200) }).strict();
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
