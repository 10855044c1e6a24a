import { TLS_POLICIES } from '@ser/config';
import { smarthostPasswordAad } from '@ser/data';
import type { SmarthostRoute, TenantDocument } from '@ser/data';
import type { SecretBox } from '@ser/security';
import { isIP } from 'node:net';
import { z } from 'zod';
import { DOMAIN_NAME } from './domain-name';

/** Routes are tried in order for every recipient domain: a short list keeps that cheap and readable. */
export const MAX_ROUTES = 20;
export const MAX_ROUTE_DOMAINS = 100;
export const MAX_SOURCE_ADDRESSES = 32;
export const MAX_SUPPRESSION_DAYS = 3650;

/** No control characters: they would end the SMTP command line or the AUTH PLAIN fields. */
const printable = (value: string): boolean => !/\p{Cc}/u.test(value);

/** `example.com`, or `.example.com` for its subdomains; lowercase A-labels (IDNs in punycode). */
const routeDomain = z
  .string()
  .trim()
  .toLowerCase()
  .refine(
    (value) => DOMAIN_NAME.test(value.startsWith('.') ? value.slice(1) : value),
    'expected a domain name in A-label form, with an optional leading dot for its subdomains',
  );

const routeHost = z
  .string()
  .trim()
  .toLowerCase()
  .refine((value) => DOMAIN_NAME.test(value) || isIP(value) !== 0, 'expected a host name or an IP address');

const routeAuth = z
  .object({
    username: z.string().min(1).max(255).refine(printable, 'must not contain control characters'),
    password: z.string().min(1).max(1024).refine(printable, 'must not contain control characters'),
  })
  .strict();

const route = z
  .object({
    domains: z.array(routeDomain).max(MAX_ROUTE_DOMAINS).optional(),
    host: routeHost,
    port: z.number().int().min(1).max(65_535),
    tls: z.enum(TLS_POLICIES),
    auth: routeAuth.optional(),
  })
  .strict()
  .refine((r) => r.auth === undefined || r.tls !== 'none', {
    error: 'AUTH needs TLS: with tls "none" the password would cross the network in plaintext',
    path: ['auth'],
  });
export type RouteInput = z.infer<typeof route>;

/** The merge-patch fields of a tenant's delivery settings (all replaced whole; `null` removes). */
export const deliverySettingsPatch = {
  routes: z.array(route).max(MAX_ROUTES).nullable().optional(),
  sourceAddresses: z
    .array(
      z
        .string()
        .trim()
        .toLowerCase()
        .refine((value) => isIP(value) !== 0, 'expected an IP address'),
    )
    .max(MAX_SOURCE_ADDRESSES)
    .nullable()
    .optional(),
  dsn: z.boolean().nullable().optional(),
  suppressionDays: z.number().int().min(0).max(MAX_SUPPRESSION_DAYS).nullable().optional(),
};

/** The stored routes: each AUTH password sealed with the master key, bound to its tenant and route. */
export function sealRoutes(
  box: SecretBox,
  tenantId: string,
  routes: readonly RouteInput[],
): SmarthostRoute[] {
  return routes.map(({ domains, host, port, tls, auth }) => ({
    ...(domains === undefined ? {} : { domains }),
    host,
    port,
    tls,
    ...(auth === undefined
      ? {}
      : {
          auth: {
            username: auth.username,
            password: box.seal(auth.password, smarthostPasswordAad(tenantId, { host, port, ...auth })),
          },
        }),
  }));
}

/** A route as the API and the audit log show it: whether a password is set, never the password. */
export function routeView<T extends { auth?: { username: string } }>({ auth, ...rest }: T) {
  return { ...rest, ...(auth === undefined ? {} : { auth: { username: auth.username, passwordSet: true } }) };
}

/** The tenant as the API shows it: `_id` as `id`, route passwords left out. */
export function tenantView({ _id, routes, ...rest }: TenantDocument) {
  return { id: _id, ...rest, ...(routes === undefined ? {} : { routes: routes.map(routeView) }) };
}
