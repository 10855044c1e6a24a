/** What a sealed smarthost AUTH password is bound to: its tenant and the route's host, port and user. */
export interface SmarthostCredentialContext {
  host: string;
  port: number;
  username: string;
}

/**
 * Associated data sealing a route's AUTH password (`SecretBox.seal`/`open`). Binding it to the
 * host, port and user name, not only the tenant, means a password copied to another route or
 * tenant, or a route whose host was changed in the database, no longer opens: the password is
 * never offered to a server it was not configured for.
 */
export function smarthostPasswordAad(tenantId: string, route: SmarthostCredentialContext): string {
  return `tenants/${tenantId}/routes/${route.host.toLowerCase()}/${String(route.port)}/${route.username}`;
}
