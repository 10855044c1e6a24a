import addressparser from 'nodemailer/lib/addressparser';

/** Mailbox addresses of a header such as From or To (groups flattened), lowercased domain. */
export function parseMailboxList(value: string): string[] {
  const result: string[] = [];
  const visit = (entries: ReturnType<typeof addressparser>): void => {
    for (const entry of entries) {
      if ('group' in entry && Array.isArray(entry.group)) {
        visit(entry.group);
      } else if ('address' in entry && typeof entry.address === 'string' && entry.address !== '') {
        result.push(entry.address);
      }
    }
  };
  visit(addressparser(value));
  return result;
}

/** The domain of an address, lowercase; undefined when there is none. */
export function domainOf(address: string): string | undefined {
  const at = address.lastIndexOf('@');
  if (at <= 0 || at === address.length - 1) {
    return undefined;
  }
  return address.slice(at + 1).toLowerCase();
}

const DOT_ATOM = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*$/;
const DOMAIN = /^(?=.{1,253}$)([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9-]{2,63}$/;

/**
 * A plain `local@domain` address with a DNS domain (RFC 5321 §4.1.2, dot-atom local part). IP
 * literals such as `u@[127.0.0.1]` are refused: a relay must not be steered to arbitrary hosts.
 */
export function isDeliverableAddress(address: string): boolean {
  const at = address.lastIndexOf('@');
  if (at <= 0 || address.length > 254) {
    return false;
  }
  const local = address.slice(0, at);
  const domain = address.slice(at + 1);
  return local.length <= 64 && DOT_ATOM.test(local) && DOMAIN.test(domain);
}
