import type { AdmissionRefusal } from '../limits/admission-control';

/** An SMTP refusal with its reply code and enhanced status code (RFC 3463), as smtp-server sends it. */
export class SmtpReplyError extends Error {
  readonly responseCode: number;

  constructor(
    code: number,
    enhanced: string,
    text: string,
    /** Short machine-readable reason for events and logs (`rate_limited`, `bare_lf`, ...). */
    readonly reason: string,
    options?: { cause?: unknown },
  ) {
    super(`${enhanced} ${text}`, options);
    this.name = 'SmtpReplyError';
    this.responseCode = code;
  }
}

const limitText: Record<string, string> = {
  messagesPerMinute: 'messages per minute',
  messagesPerDay: 'messages per day',
  recipientsPerDay: 'recipients per day',
};

/** Every reply the relay itself gives; docs/smtp.md lists them. */
export const replies = {
  authFailed: (reason: string) =>
    new SmtpReplyError(535, '5.7.8', 'Authentication credentials invalid', reason),
  authUnavailable: (cause: unknown) =>
    new SmtpReplyError(
      454,
      '4.7.0',
      'Temporary authentication failure, try again later',
      'auth_unavailable',
      {
        cause,
      },
    ),
  ipLockedOut: () =>
    new SmtpReplyError(
      454,
      '4.7.0',
      'Too many failed authentications from your address, try again later',
      'locked_out',
    ),
  tooManyAuthAttempts: () =>
    new SmtpReplyError(
      421,
      '4.7.0',
      'Too many failed authentication attempts, closing connection',
      'auth_attempts',
    ),
  tooManyConnections: (what: 'address' | 'application') =>
    new SmtpReplyError(
      421,
      '4.7.0',
      `Too many connections from this ${what}, try again later`,
      what === 'address' ? 'ip_connections' : 'app_connections',
    ),
  sessionExpired: () =>
    new SmtpReplyError(421, '4.4.2', 'Session time limit reached, closing connection', 'session_timeout'),
  noLongerAuthorised: () =>
    new SmtpReplyError(
      421,
      '4.7.0',
      'The credential or application is no longer active, closing connection',
      'credential_inactive',
    ),
  authRequired: () => new SmtpReplyError(530, '5.7.0', 'Authentication required', 'auth_required'),
  nullSender: () =>
    new SmtpReplyError(550, '5.7.1', 'A null sender <> is not accepted for submission', 'null_sender'),
  badAddress: (what: 'The sender' | 'The recipient') =>
    new SmtpReplyError(553, '5.1.3', `${what} is not a valid address`, 'invalid_address'),
  tooManyRecipients: (max: number) =>
    new SmtpReplyError(452, '4.5.3', `Too many recipients (at most ${max})`, 'too_many_recipients'),
  rateLimited: (limit: string, max: number, retryAfterSeconds: number) =>
    new SmtpReplyError(
      451,
      '4.7.1',
      `Rate limit reached: at most ${max} ${limitText[limit] ?? limit} for this application, try again in ${retryAfterSeconds} s`,
      'rate_limited',
    ),
  tooBig: (max: number) =>
    new SmtpReplyError(552, '5.3.4', `Message exceeds the size limit of ${max} bytes`, 'too_big'),
  headerTooBig: (max: number) =>
    new SmtpReplyError(552, '5.3.4', `The header block exceeds ${max} bytes`, 'header_too_large'),
  bareLineEnding: (what: 'LF' | 'CR') =>
    new SmtpReplyError(
      550,
      '5.5.2',
      `Bare <${what}> received: lines must end with <CR><LF> (RFC 5321 section 2.3.8)`,
      what === 'LF' ? 'bare_lf' : 'bare_cr',
    ),
  lineTooLong: () =>
    new SmtpReplyError(
      550,
      '5.5.2',
      'A line is longer than 998 characters (RFC 5322 section 2.1.1)',
      'line_too_long',
    ),
  fromPolicy: (text: string) => new SmtpReplyError(550, '5.7.1', text, 'sender_policy'),
  bulk: (why: string) =>
    new SmtpReplyError(
      550,
      '5.7.1',
      `This looks like bulk mail (${why}); this relay accepts transactional mail only`,
      'bulk',
    ),
  // RFC 3463 4.3.2 "System not accepting network messages": the client keeps the message and
  // retries later, and the relay's own backlog stays bounded (admission control, issue 9).
  overloaded: (reason: AdmissionRefusal) =>
    new SmtpReplyError(
      451,
      '4.3.2',
      reason === 'scan_backlog'
        ? 'System busy: too many messages are waiting to be scanned, try again later'
        : 'System busy: too many messages are being received, try again later',
      reason,
    ),
  notStored: (cause: unknown) =>
    new SmtpReplyError(
      451,
      '4.3.0',
      'Message not accepted: temporary storage failure, try again later',
      'storage_unavailable',
      { cause },
    ),
} as const;
