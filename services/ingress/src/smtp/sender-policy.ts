import type { ApplicationDocument, TenantConfigRepository } from '@ser/data';
import type { HeaderField } from '@ser/mail';
import { domainOf, headerValues, parseHeaderBlock, parseMailboxList } from '@ser/mail';
import { replies } from './smtp-reply';

export interface HeaderSummary {
  /** The one From address; when From lists several authors, the Sender address. */
  headerFrom: string;
  /** Lowercase domain of `headerFrom`: the domain the message is DKIM-signed as. */
  fromDomain: string;
  /** First Subject field, cut to the 998-character line limit (RFC 5322 §2.1.1). */
  subject?: string;
}

/** The one repository call the policy needs; a small fake is enough in tests. */
export type DomainOwnerLookup = Pick<TenantConfigRepository, 'findDomainByName'>;

type Role = 'From' | 'Sender';

const MAX_SUBJECT_CHARS = 998;

/**
 * Checks the header From (and Sender) of a submitted message against the application's tenant and
 * allowances, and returns what the message record keeps. The header From decides DMARC alignment
 * (RFC 7489 §3.1), so every address a recipient sees as the author must be in a domain of the
 * application's own tenant that the application may use (invariant 6).
 *
 * Refusals are thrown as `550 5.7.1 <text>` ({@link replies.fromPolicy}), with these texts:
 * - `The message must have exactly one From header field` (none, or several: RFC 5322 §3.6);
 * - `The From header field has no address`;
 * - `The message must have exactly one From address, or exactly one Sender address` (several
 *   authors without one Sender field holding one mailbox: RFC 5322 §3.6.2);
 * - `The From address has no domain` / `The Sender address has no domain`;
 * - `From domain <d> is not a domain of this organisation` (or `Sender domain …`): unknown, or
 *   another tenant's, even if `allowedFromDomains` lists it by mistake;
 * - `This application may not send as <d>` (not in `allowedFromDomains`) or
 *   `This application may not send as <address>` (lowercase; no `allowedFromAddresses` match).
 */
export async function checkSenderPolicy(
  headerBlock: string,
  app: ApplicationDocument,
  config: DomainOwnerLookup,
): Promise<HeaderSummary> {
  const fields = parseHeaderBlock(headerBlock);
  const authors = singleFromField(fields);
  const check = addressChecker(app, config);
  // With several authors the Sender is the one responsible for transmission (RFC 5322 §3.6.2),
  // so it is the address the message is signed and aligned as; the authors are still shown to
  // recipients, so each of them must pass the same checks.
  const [author] = authors;
  const headerFrom = authors.length === 1 && author !== undefined ? author : singleSender(fields);
  const fromDomain = await check(headerFrom, authors.length === 1 ? 'From' : 'Sender');
  if (authors.length > 1) {
    for (const address of authors) {
      await check(address, 'From');
    }
  }
  const subject = headerValues(fields, 'Subject')[0];
  return {
    headerFrom,
    fromDomain,
    ...(subject === undefined ? {} : { subject: subject.slice(0, MAX_SUBJECT_CHARS) }),
  };
}

/**
 * Whether `address` matches an `allowedFromAddresses` pattern, case-insensitively. `*` in the local
 * part matches any run of characters, possibly empty (`alerts-*@acme.test`, `*@acme.test`); the
 * domain must be equal, because a wildcard there would reach subdomains the application was not
 * given. A pattern without `*` must equal the address.
 */
export function matchesAddressPattern(address: string, pattern: string): boolean {
  const value = address.toLowerCase();
  const wanted = pattern.toLowerCase();
  const at = wanted.lastIndexOf('@');
  const valueAt = value.lastIndexOf('@');
  if (at === -1 || valueAt === -1) {
    return value === wanted;
  }
  return (
    value.slice(valueAt + 1) === wanted.slice(at + 1) &&
    globMatches(value.slice(0, valueAt), wanted.slice(0, at))
  );
}

/**
 * `*`-only glob by leftmost search of each literal piece: linear, unlike a regular expression
 * built from the pattern, which could backtrack badly on `*a*a*a*b`-style patterns.
 */
function globMatches(text: string, pattern: string): boolean {
  const pieces = pattern.split('*');
  if (pieces.length === 1) {
    return text === pattern;
  }
  const head = pieces[0] ?? '';
  const tail = pieces[pieces.length - 1] ?? '';
  const end = text.length - tail.length;
  if (end < head.length || !text.startsWith(head) || !text.endsWith(tail)) {
    return false;
  }
  let position = head.length;
  for (const piece of pieces.slice(1, -1)) {
    const found = text.indexOf(piece, position);
    if (found === -1 || found + piece.length > end) {
      return false;
    }
    position = found + piece.length;
  }
  return true;
}

/** The addresses of the one From field (RFC 5322 §3.6: exactly one, a mailbox-list). */
function singleFromField(fields: readonly HeaderField[]): string[] {
  const values = headerValues(fields, 'From');
  const [value] = values;
  if (values.length !== 1 || value === undefined) {
    throw replies.fromPolicy('The message must have exactly one From header field');
  }
  const authors = parseMailboxList(value);
  if (authors.length === 0) {
    throw replies.fromPolicy('The From header field has no address');
  }
  return authors;
}

/** The Sender required when From holds several mailboxes (RFC 5322 §3.6.2: one field, one mailbox). */
function singleSender(fields: readonly HeaderField[]): string {
  const values = headerValues(fields, 'Sender');
  const addresses = values.length === 1 ? values.flatMap(parseMailboxList) : [];
  const [sender] = addresses;
  if (addresses.length !== 1 || sender === undefined) {
    throw replies.fromPolicy('The message must have exactly one From address, or exactly one Sender address');
  }
  return sender;
}

/**
 * A checker for one message: it refuses an address the application may not show, and returns its
 * lowercase domain. Ownership is looked up once per domain, so a From with many authors in one
 * domain costs one query.
 */
function addressChecker(
  app: ApplicationDocument,
  config: DomainOwnerLookup,
): (address: string, role: Role) => Promise<string> {
  const owned = new Map<string, Promise<boolean>>();
  const ownedByTenant = (domain: string): Promise<boolean> => {
    let result = owned.get(domain);
    if (result === undefined) {
      result = config.findDomainByName(domain).then((doc) => doc !== null && doc.tenantId === app.tenantId);
      owned.set(domain, result);
    }
    return result;
  };
  return async (address, role) => {
    const domain = domainOf(address);
    if (domain === undefined) {
      throw replies.fromPolicy(`The ${role} address has no domain`);
    }
    // Ownership first: a domain of another tenant stays refused even if the application's own
    // allowance lists it by mistake.
    if (!(await ownedByTenant(domain))) {
      throw replies.fromPolicy(`${role} domain ${domain} is not a domain of this organisation`);
    }
    checkAllowances(address.toLowerCase(), domain, app);
    return domain;
  };
}

function checkAllowances(address: string, domain: string, app: ApplicationDocument): void {
  const domains = app.allowedFromDomains;
  if (domains.length > 0 && !domains.some((allowed) => allowed.toLowerCase() === domain)) {
    throw replies.fromPolicy(`This application may not send as ${domain}`);
  }
  const patterns = app.allowedFromAddresses ?? [];
  if (patterns.length > 0 && !patterns.some((pattern) => matchesAddressPattern(address, pattern))) {
    throw replies.fromPolicy(`This application may not send as ${address}`);
  }
}
