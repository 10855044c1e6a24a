import { MESSAGE_ID_PATTERN } from '@ser/contracts';
import { ApiTokenRepository, MessageRepository, TenantConfigRepository } from '@ser/data';
import { Injectable } from '@nestjs/common';
import { problems } from '../http/problem';
import { MessageTombstoneRepository } from '../retention/message-tombstone.repository';

/** Path parameters and query fields that name a tenant's object, with the shape of their ids. */
const SCOPED_IDS = {
  tenantId: { what: 'tenant', pattern: /^ten_[A-Za-z0-9]{1,64}$/ },
  appId: { what: 'application', pattern: /^app_[A-Za-z0-9]{1,64}$/ },
  domainId: { what: 'domain', pattern: /^dom_[A-Za-z0-9]{1,64}$/ },
  keyId: { what: 'DKIM key', pattern: /^dk_[A-Za-z0-9]{1,64}$/ },
  credentialId: { what: 'credential', pattern: /^cred_[A-Za-z0-9]{1,64}$/ },
  tokenId: { what: 'token', pattern: /^tok_[A-Za-z0-9]{1,64}$/ },
  messageId: { what: 'message', pattern: MESSAGE_ID_PATTERN },
} as const;

type ScopedName = keyof typeof SCOPED_IDS;

/** Path parameters that are not ids of their own (they live under a `tenantId` in the same path). */
const UNSCOPED_PARAMS = new Set(['address']);

/** Query parameter names are plain words. */
const QUERY_NAME = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;

/** The ids a request names, validated; what the access guard scopes. */
export type NamedIds = Partial<Record<ScopedName, string>>;

function isScoped(name: string): name is ScopedName {
  return Object.hasOwn(SCOPED_IDS, name);
}

/**
 * Tenant isolation in one place: every id in a request's path and query is validated before it
 * reaches a query and, for a tenant token, resolved to the tenant that owns it.
 */
@Injectable()
export class TenantScope {
  constructor(
    private readonly config: TenantConfigRepository,
    private readonly messages: MessageRepository,
    private readonly tombstones: MessageTombstoneRepository,
    private readonly tokens: ApiTokenRepository,
  ) {}

  /**
   * The ids named by the path and the query, each checked against its shape; an injection
   * (`?tenantId[$ne]=`), an array or a malformed id is a `400`, never a query.
   */
  namedIds(params: Record<string, string | string[]>, query: Record<string, unknown>): NamedIds {
    const ids: NamedIds = {};
    const errors: { path: string; message: string }[] = [];
    for (const [name, value] of Object.entries(params)) {
      if (isScoped(name)) {
        ids[name] = typeof value === 'string' ? value : '';
      } else if (!UNSCOPED_PARAMS.has(name)) {
        // A new route parameter must be declared here before any tenant token can reach it.
        throw new Error(`path parameter ${name} has no tenant scope rule`);
      }
    }
    // Filters that name ids (`?tenantId=`, `?appId=`, `?messageId=`) are confined like the path.
    for (const [name, value] of Object.entries(query)) {
      if (!QUERY_NAME.test(name)) {
        // `tenantId[$ne]=x` or `a.b=`: operator syntax (or bracket nesting), never a parameter.
        errors.push({ path: name.replace(/\[.*$/s, '').slice(0, 64), message: 'not a parameter name' });
      }
      if (!isScoped(name)) {
        continue;
      }
      if (typeof value !== 'string') {
        errors.push({ path: name, message: `expected one ${SCOPED_IDS[name].what} id` });
      } else if (ids[name] !== undefined && ids[name] !== value) {
        errors.push({ path: name, message: 'names another object than the path' });
      } else {
        ids[name] = value;
      }
    }
    for (const [name, value] of Object.entries(ids) as [ScopedName, string][]) {
      if (!SCOPED_IDS[name].pattern.test(value)) {
        errors.push({ path: name, message: `not a ${SCOPED_IDS[name].what} id` });
      }
    }
    if (errors.length > 0) {
      throw problems.invalid(errors);
    }
    return ids;
  }

  /**
   * The tenant that owns everything `ids` names, when that is `tenantId`; otherwise a `404` as if
   * the object did not exist, so a token of one tenant learns nothing about another's objects.
   * Returns whether the request named anything at all.
   */
  async confine(ids: NamedIds, tenantId: string): Promise<boolean> {
    const named = Object.entries(ids) as [ScopedName, string][];
    for (const [name, id] of named) {
      if ((await this.ownerOf(name, id)) !== tenantId) {
        throw problems.notFound(SCOPED_IDS[name].what);
      }
    }
    return named.length > 0;
  }

  /** The tenant of the first object `ids` names, for the audit log of an operator's call. */
  async ownerOfAny(ids: NamedIds): Promise<string | undefined> {
    const [first] = Object.entries(ids) as [ScopedName, string][];
    return first === undefined ? undefined : this.ownerOf(first[0], first[1]);
  }

  private async ownerOf(name: ScopedName, id: string): Promise<string | undefined> {
    switch (name) {
      case 'tenantId':
        return id;
      case 'appId':
        return (await this.config.findApplicationById(id))?.tenantId;
      case 'domainId':
        return (await this.config.findDomainById(id))?.tenantId;
      case 'keyId':
        return (await this.config.findDkimKeyById(id))?.tenantId;
      case 'credentialId':
        return (await this.config.findCredentialById(id))?.tenantId;
      case 'tokenId':
        return (await this.tokens.findById(id))?.tenantId;
      case 'messageId':
        // A message deleted by retention still belongs to its tenant: its download answers `410`.
        return (await this.messages.findById(id))?.tenantId ?? (await this.tombstones.tenantOf(id));
    }
  }
}
