import type { ApplicationDocument, TenantConfigRepository } from '@ser/data';
import { domainOf, headerValues, parseHeaderBlock, parseMailboxList } from '@ser/mail';
import { replies } from './smtp-reply';

export interface HeaderSummary {
  headerFrom: string;
  fromDomain: string;
  subject?: string;
}

/**
 * The header From decides DMARC alignment, so it must be one address in a domain of the
 * application's own tenant that the application may use (RFC 5322 §3.6.2; invariant 6).
 */
export async function checkSenderPolicy(
  headerBlock: string,
  app: ApplicationDocument,
  config: TenantConfigRepository,
): Promise<HeaderSummary> {
  const fields = parseHeaderBlock(headerBlock);
  const fromValues = headerValues(fields, 'From');
  const addresses = fromValues.flatMap(parseMailboxList);
  if (fromValues.length !== 1 || addresses.length !== 1) {
    throw replies.fromPolicy('The message must have exactly one From address');
  }
  const headerFrom = addresses[0] ?? '';
  const fromDomain = domainOf(headerFrom);
  if (fromDomain === undefined) {
    throw replies.fromPolicy('The From address has no domain');
  }
  const domain = await config.findDomainByName(fromDomain);
  if (domain === null || domain.tenantId !== app.tenantId) {
    throw replies.fromPolicy(`From domain ${fromDomain} is not a domain of this organisation`);
  }
  if (app.allowedFromDomains.length > 0 && !app.allowedFromDomains.includes(fromDomain)) {
    throw replies.fromPolicy(`This application may not send as ${fromDomain}`);
  }
  const subject = headerValues(fields, 'Subject')[0];
  return { headerFrom, fromDomain, ...(subject === undefined ? {} : { subject: subject.slice(0, 998) }) };
}
