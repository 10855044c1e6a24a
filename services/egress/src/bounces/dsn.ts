import { randomBytes } from 'node:crypto';

/** One recipient the DSN reports on, as the recipient ledger left it. */
export interface DsnRecipient {
  /** The address as given in RCPT TO. */
  address: string;
  /** The queue lifetime ran out (still deferred); otherwise it bounced. */
  expired?: boolean;
  /** The last remote reply as the ledger records it: `550 5.1.1 No such user`. */
  reply?: string;
  /** Host name of the server that gave the reply. */
  remoteMta?: string;
  lastAttemptAt: Date;
}

export interface DsnInput {
  /** Host name of this relay: the Reporting-MTA and the domain of From and Message-ID. */
  reportingHost: string;
  /** The original envelope sender, who receives the report; never empty (no DSN to `<>`). */
  originalMailFrom: string;
  /** The original message's header section; its body is never included (privacy, size). */
  originalHeaders: Buffer;
  /** The original Message-ID header value, for In-Reply-To and References. */
  originalMessageId?: string;
  /** The ENVID the client gave with MAIL FROM (RFC 3461 §4.4). */
  originalEnvelopeId?: string;
  arrivalDate: Date;
  recipients: DsnRecipient[];
  /** Local part of this report's Message-ID (`<local@reportingHost>`); random when absent. */
  messageIdLocal?: string;
  /** Date of the report; now when absent. */
  date?: Date;
}

export const DSN_SUBJECT = 'Undelivered Mail Returned to Sender';

const CRLF = '\r\n';
/** RFC 5322 §2.1.1: a line is at most 998 octets without its CRLF; 78 is the readable target. */
const MAX_LINE = 998;
const SOFT_LINE = 78;
/** Remote replies beyond this are cut before folding: one line of explanation is enough. */
const MAX_DIAGNOSTIC = 2000;

/**
 * A delivery status notification (RFC 3464) about recipients that failed for good, as a
 * `multipart/report` (RFC 6522): a human explanation, the machine-readable status and the original
 * header section. Auto-Submitted marks it as automatic (RFC 3834); it goes out with a null
 * reverse path so that it can never cause another DSN.
 */
export function buildDsn(input: DsnInput): Buffer {
  const host = oneLine(input.reportingHost);
  const boundary = `dsn-${randomBytes(18).toString('base64url')}`;
  const originalId =
    input.originalMessageId === undefined ? undefined : messageIdToken(input.originalMessageId);
  const headers = [
    `From: Mail Delivery System <mailer-daemon@${host}>`,
    `To: <${oneLine(input.originalMailFrom)}>`,
    `Subject: ${DSN_SUBJECT}`,
    `Date: ${rfc5322Date(input.date ?? new Date())}`,
    `Message-ID: <${oneLine(input.messageIdLocal ?? randomBytes(12).toString('hex'))}@${host}>`,
    'Auto-Submitted: auto-replied',
    ...(originalId === undefined ? [] : [`In-Reply-To: ${originalId}`, `References: ${originalId}`]),
    'MIME-Version: 1.0',
    `Content-Type: multipart/report; report-type=delivery-status;${CRLF} boundary="${boundary}"`,
  ];
  const explanation = humanText(host, input.recipients);
  const headerSection = originalHeaderSection(input.originalHeaders);
  const parts = [
    part(
      [
        'Content-Type: text/plain; charset=utf-8',
        `Content-Transfer-Encoding: ${isAscii(explanation) ? '7bit' : '8bit'}`,
      ],
      explanation,
    ),
    part(['Content-Type: message/delivery-status', 'Content-Transfer-Encoding: 7bit'], deliveryStatus(input)),
    part(
      [
        'Content-Type: text/rfc822-headers',
        `Content-Transfer-Encoding: ${isAscii(headerSection) ? '7bit' : '8bit'}`,
      ],
      headerSection,
    ),
  ];
  const body = [
    'This is a MIME-encapsulated message.',
    '',
    ...parts.map((p) => `--${boundary}${CRLF}${p}`),
    `--${boundary}--`,
    '',
  ].join(CRLF);
  // RFC 2045 §6.4: a multipart whose parts carry 8-bit text is itself 8bit.
  if (!isAscii(body)) {
    headers.push('Content-Transfer-Encoding: 8bit');
  }
  return Buffer.from(`${headers.join(CRLF)}${CRLF}${CRLF}${body}`, 'utf8');
}

function part(headers: string[], content: string): string {
  return `${headers.join(CRLF)}${CRLF}${CRLF}${content}${CRLF}`;
}

function humanText(host: string, recipients: DsnRecipient[]): string {
  const lines = [
    `This is the mail system at host ${host}.`,
    '',
    "I'm sorry to have to inform you that your message could not be delivered to one or more",
    'recipients. The details are below; the headers of your message are attached.',
    '',
  ];
  for (const r of recipients) {
    const why = r.expired === true ? 'delivery time expired' : 'delivery failed';
    const said =
      r.reply === undefined
        ? ''
        : `; ${r.remoteMta === undefined ? 'remote server' : `host ${r.remoteMta}`} said: ${r.reply}`;
    lines.push(truncate(oneLine(`<${r.address}>: ${why}${said}`), MAX_LINE));
  }
  return lines.join(CRLF);
}

/** RFC 3464 §2.1: the per-message fields, then one block per recipient, blank lines between. */
function deliveryStatus(input: DsnInput): string {
  const perMessage = [
    `Reporting-MTA: dns; ${oneLine(input.reportingHost)}`,
    ...(input.originalEnvelopeId === undefined
      ? []
      : [`Original-Envelope-Id: ${xtext(oneLine(input.originalEnvelopeId))}`]),
    `Arrival-Date: ${rfc5322Date(input.arrivalDate)}`,
  ];
  const blocks = input.recipients.map((r) => {
    const reply = r.reply === undefined ? undefined : parseReply(oneLine(r.reply));
    return [
      `Final-Recipient: ${typedAddress(r.address)}`,
      'Action: failed',
      `Status: ${statusOf(r, reply)}`,
      ...(r.remoteMta === undefined ? [] : [`Remote-MTA: dns; ${oneLine(r.remoteMta)}`]),
      ...(reply === undefined ? [] : fold(`Diagnostic-Code: smtp; ${truncate(reply.text, MAX_DIAGNOSTIC)}`)),
      `Last-Attempt-Date: ${rfc5322Date(r.lastAttemptAt)}`,
    ].join(CRLF);
  });
  return [perMessage.join(CRLF), ...blocks].join(CRLF + CRLF);
}

interface ParsedReply {
  code?: number;
  enhanced?: string;
  text: string;
}

function parseReply(reply: string): ParsedReply {
  const match = /^([245])(\d\d)(?:[ -]+(([245])\.\d{1,3}\.\d{1,3})\b)?/.exec(reply);
  if (match === null) {
    return { text: reply };
  }
  // An enhanced code of another class than the reply code is the server's mistake: ignore it.
  const enhanced = match[3] !== undefined && match[4] === match[1] ? match[3] : undefined;
  return { code: Number(`${match[1] ?? ''}${match[2] ?? ''}`), enhanced, text: reply };
}

/**
 * Expiry reports 4.4.7 (delivery time expired) with Action failed, as Postfix does; otherwise the
 * server's enhanced code, or the generic code of the reply's class (a 4xx still failing at the
 * last attempt stays 4.x.x).
 */
function statusOf(r: DsnRecipient, reply: ParsedReply | undefined): string {
  if (r.expired === true) {
    return '4.4.7';
  }
  if (reply?.enhanced !== undefined) {
    return reply.enhanced;
  }
  return reply?.code !== undefined && reply.code < 500 ? '4.0.0' : '5.0.0';
}

/** RFC 6533 §3: a non-ASCII address is `utf-8;` in its 7-bit xtext form inside message/delivery-status. */
function typedAddress(address: string): string {
  const clean = oneLine(address);
  return isAscii(clean) ? `rfc822; ${clean}` : `utf-8; ${utf8AddrXtext(clean)}`;
}

function utf8AddrXtext(address: string): string {
  let out = '';
  for (const ch of address) {
    const cp = ch.codePointAt(0) ?? 0;
    const qchar = cp >= 0x21 && cp <= 0x7e && ch !== '\\' && ch !== '+' && ch !== '=';
    out += qchar ? ch : `\\x{${cp.toString(16).toUpperCase()}}`;
  }
  return out;
}

/** RFC 3461 §4: xtext, `+HH` for `+`, `=` and anything outside printable ASCII. */
function xtext(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    out +=
      byte >= 0x21 && byte <= 0x7e && byte !== 0x2b && byte !== 0x3d
        ? String.fromCharCode(byte)
        : `+${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * Folds a header field at spaces (RFC 5322 §2.2.3) aiming at 78 octets; a word that alone would
 * exceed 998 octets is truncated, since folding cannot split it.
 */
function fold(field: string): string[] {
  const lines: string[] = [];
  let current = '';
  for (const word of field.split(' ').filter((w) => w !== '')) {
    const piece = truncate(word, MAX_LINE - 1);
    if (current === '') {
      current = piece;
    } else if (octets(current) + 1 + octets(piece) <= SOFT_LINE) {
      current += ` ${piece}`;
    } else {
      lines.push(current);
      current = ` ${piece}`;
    }
  }
  lines.push(current);
  return lines;
}

/** The header section, CRLF-normalised, without the blank line, every line at most 998 octets. */
function originalHeaderSection(raw: Buffer): string {
  const text = raw.toString('utf8').replace(/\r?\n/g, CRLF);
  const end = text.indexOf(CRLF + CRLF);
  const section = end === -1 ? text.replace(/(\r\n)+$/, '') : text.slice(0, end);
  return section
    .split(CRLF)
    .map((line) => truncate(line.replace(/\r/g, ''), MAX_LINE))
    .join(CRLF);
}

/** Remote replies and header values may carry CR, LF or other controls: never let them make a line. */
function oneLine(value: string): string {
  // eslint-disable-next-line no-control-regex
  return value.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
}

/** A Message-ID too long for one header line is left out rather than broken. */
function messageIdToken(value: string): string | undefined {
  const clean = oneLine(value);
  const token = clean.startsWith('<') ? clean : `<${clean}>`;
  return octets(token) > MAX_LINE - 'In-Reply-To: '.length ? undefined : token;
}

function truncate(value: string, maxOctets: number): string {
  if (octets(value) <= maxOctets) {
    return value;
  }
  let out = '';
  let size = 0;
  for (const ch of value) {
    const n = octets(ch);
    if (size + n > maxOctets) {
      break;
    }
    out += ch;
    size += n;
  }
  return out;
}

function octets(value: string): number {
  return Buffer.byteLength(value, 'utf8');
}

function isAscii(value: string): boolean {
  return octets(value) === value.length;
}

/** RFC 5322 §3.3 with a numeric zone (`GMT` is obsolete syntax). */
function rfc5322Date(date: Date): string {
  return date.toUTCString().replace(/GMT$/, '+0000');
}
