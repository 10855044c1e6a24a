import { isIPv4, isIPv6 } from 'node:net';
import { rfc5322Date } from './header-rewriter';

export interface ReceivedInfo {
  /** The EHLO/HELO argument, as the client sent it. */
  heloName: string | undefined;
  clientIp: string;
  /** Reverse-DNS name of the client, if known. */
  clientHostname?: string;
  /** Our host name. */
  byHost: string;
  tls: { protocol: string; cipher: string } | undefined;
  appId: string;
  messageId: string;
  date: Date;
}

/** Lines are kept under this many characters where the parts allow (RFC 5322 §2.1.1: 78). */
const FOLD_AT = 78;
const MAX_NAME = 255;

/**
 * The `Received:` trace field for a submission (RFC 5321 §4.4), with `with ESMTPSA` or `ESMTPA`
 * (RFC 3848: authenticated, over TLS or not). Everything that comes from outside (HELO name, reverse
 * DNS) is reduced to a few safe characters, so it cannot add lines or comments to the field. Only
 * the application id identifies the sender: never a user name or a credential.
 */
export function receivedHeader(info: ReceivedInfo): string {
  const from = [
    `Received: from ${safeName(info.heloName)}`,
    `(${tcpInfo(info.clientIp, info.clientHostname)})`,
  ];
  const tls = info.tls === undefined ? [] : [`(${safeWord(info.tls.protocol)} ${safeWord(info.tls.cipher)})`];
  // The by clause starts its own line, as in Postfix and Exim, so the field reads clause by clause.
  const by = [
    `by ${safeName(info.byHost)}`,
    '(Secure Email Relay)',
    `with ${info.tls === undefined ? 'ESMTPA' : 'ESMTPSA'}`,
    ...tls,
    `(authenticated application ${safeWord(info.appId)})`,
    `id ${safeWord(info.messageId)};`,
    rfc5322Date(info.date),
  ];
  return `${fold(from)}\r\n\t${fold(by)}`;
}

/**
 * Joins `parts` with spaces, starting a continuation line (CRLF + TAB, RFC 5322 §2.2.3) instead
 * where a part would make the line reach FOLD_AT characters. A part is never split, so only an
 * overlong part (a 255-character HELO name) makes a longer line.
 */
function fold(parts: readonly string[]): string {
  const lines: string[] = [];
  let current: string | undefined;
  for (const part of parts) {
    if (current === undefined) {
      current = part;
    } else if (1 + current.length + 1 + part.length < FOLD_AT) {
      current += ` ${part}`;
    } else {
      lines.push(current);
      current = part;
    }
  }
  if (current !== undefined) {
    lines.push(current);
  }
  return lines.join('\r\n\t');
}

/** RFC 5321 §4.4 TCP-info: the address literal, after the reverse-DNS name if there is one. */
function tcpInfo(clientIp: string, hostname: string | undefined): string {
  const literal = addressLiteral(clientIp);
  return hostname === undefined || hostname === '' ? literal : `${safeName(hostname)} ${literal}`;
}

/** RFC 5321 §4.1.3 address literals; an IPv4-mapped IPv6 address is shown as the IPv4 address. */
function addressLiteral(ip: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip)?.[1];
  if (mapped !== undefined && isIPv4(mapped)) {
    return `[${mapped}]`;
  }
  if (isIPv6(ip)) {
    return `[IPv6:${ip}]`;
  }
  return `[${safeName(ip)}]`;
}

/** A host name or HELO argument: domain and address-literal characters only, at most 255. */
function safeName(name: string | undefined): string {
  if (name === undefined || name === '') {
    return 'unknown';
  }
  return name.slice(0, MAX_NAME).replace(/[^A-Za-z0-9.\-:[\]_]/g, '_');
}

/** An atom inside a comment or an id: no spaces, parentheses or line breaks. */
function safeWord(word: string): string {
  return word === '' ? 'unknown' : word.slice(0, MAX_NAME).replace(/[^A-Za-z0-9._-]/g, '_');
}
