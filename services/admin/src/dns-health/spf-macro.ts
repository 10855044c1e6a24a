import { isIPv4 } from 'node:net';

/** What the macros of RFC 7208 §7 expand from, for the check of one sending IP. */
export interface SpfMacroContext {
  /** The envelope sender, `local@domain`. */
  sender: string;
  /** The domain being evaluated now (`%{d}`). */
  domain: string;
  ip: string;
}

const MACRO = /%(?:\{([slodiphcrtv])(\d*)(r?)([.\-+,/_=]*)\}|[%_-])/gi;

/** RFC 7208 §7.1: `%` may only start `%%`, `%_`, `%-` or a `%{...}` macro. */
export function isValidMacroString(value: string): boolean {
  return !value.replace(MACRO, '').includes('%') && /^[\x21-\x7e]*$/.test(value);
}

/** Expands the macros of a domain-spec (RFC 7208 §7.3, §7.4); the result is a domain name. */
export function expandMacros(spec: string, context: SpfMacroContext): string {
  return spec.replace(
    MACRO,
    (token, letter?: string, digits?: string, reverse?: string, delimiters?: string) => {
      if (letter === undefined) {
        return token === '%%' ? '%' : token === '%_' ? ' ' : '%20';
      }
      const value = macroValue(letter.toLowerCase(), context);
      const parts = value.split(new RegExp(`[${escapeClass(delimiters || '.')}]`));
      if (reverse !== undefined && reverse !== '') {
        parts.reverse();
      }
      const keep = digits !== undefined && digits !== '' ? Number(digits) : parts.length;
      const expanded = parts.slice(Math.max(0, parts.length - keep)).join('.');
      // An upper-case macro letter asks for URL escaping (§7.3).
      return letter === letter.toUpperCase() ? encodeURIComponent(expanded) : expanded;
    },
  );
}

function macroValue(letter: string, context: SpfMacroContext): string {
  const at = context.sender.lastIndexOf('@');
  const local = at > 0 ? context.sender.slice(0, at) : 'postmaster';
  const senderDomain = context.sender.slice(at + 1);
  switch (letter) {
    case 's':
      return `${local}@${senderDomain}`;
    case 'l':
      return local;
    case 'o':
    case 'h':
      return senderDomain;
    case 'd':
      return context.domain;
    case 'i':
    case 'c':
      return isIPv4(context.ip) ? context.ip : ipv6Nibbles(context.ip);
    case 'v':
      return isIPv4(context.ip) ? 'in-addr' : 'ip6';
    case 'r':
      return 'unknown';
    case 't':
      return String(Math.floor(Date.now() / 1000));
    default:
      // `p` needs a validated PTR name, which this check never has (§7.3: then "unknown").
      return 'unknown';
  }
}

/** `2001:db8::1` → `2.0.0.1.0.d.b.8.0.0…1`, the dotted nibble form of `%{i}` for IPv6 (§7.3). */
function ipv6Nibbles(ip: string): string {
  const [head = '', tail = ''] = ip.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  const missing = ip.includes('::') ? 8 - headGroups.length - tailGroups.length : 0;
  const groups = [...headGroups, ...Array<string>(missing).fill('0'), ...tailGroups];
  return groups
    .map((g) => g.padStart(4, '0'))
    .join('')
    .split('')
    .join('.');
}

function escapeClass(characters: string): string {
  return characters.replace(/[-\\\]^/]/g, '\\$&');
}
