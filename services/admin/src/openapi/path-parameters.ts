import { MESSAGE_ID_PATTERN } from '@ser/contracts';

/** How a path parameter is documented. */
export interface PathParameter {
  description: string;
  pattern?: string;
}

/**
 * Every path parameter the admin API uses, with the id shapes the access guard checks
 * (services/admin/src/auth/tenant-scope.service.ts): a route with a parameter missing here fails
 * the generator, so a new kind of id gets documented once.
 */
export const PATH_PARAMETERS: Readonly<Record<string, PathParameter>> = {
  tenantId: { description: 'A tenant id (ten_…)', pattern: '^ten_[A-Za-z0-9]{1,64}$' },
  appId: { description: 'An application id (app_…)', pattern: '^app_[A-Za-z0-9]{1,64}$' },
  domainId: { description: 'A domain id (dom_…)', pattern: '^dom_[A-Za-z0-9]{1,64}$' },
  keyId: { description: 'A DKIM key id (dk_…)', pattern: '^dk_[A-Za-z0-9]{1,64}$' },
  credentialId: { description: 'An SMTP credential id (cred_…)', pattern: '^cred_[A-Za-z0-9]{1,64}$' },
  tokenId: { description: 'An API token id (tok_…)', pattern: '^tok_[A-Za-z0-9]{1,64}$' },
  messageId: { description: 'A message id (a lowercase ULID)', pattern: MESSAGE_ID_PATTERN.source },
  address: { description: 'A recipient mailbox, URL-encoded (bob%40example.com)' },
};
