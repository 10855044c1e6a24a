/** An SMTP refusal with its reply code and enhanced status code (RFC 3463), as smtp-server sends it. */
export class SmtpReplyError extends Error {
  readonly responseCode: number;

  constructor(code: number, enhanced: string, text: string, options?: { cause?: unknown }) {
    super(`${enhanced} ${text}`, options);
    this.name = 'SmtpReplyError';
    this.responseCode = code;
  }
}

export const replies = {
  authFailed: () => new SmtpReplyError(535, '5.7.8', 'Authentication credentials invalid'),
  authUnavailable: (cause: unknown) =>
    new SmtpReplyError(454, '4.7.0', 'Temporary authentication failure, try again later', { cause }),
  nullSender: () => new SmtpReplyError(550, '5.7.1', 'A null sender <> is not accepted for submission'),
  badAddress: (what: string) => new SmtpReplyError(553, '5.1.3', `${what} is not a valid address`),
  tooManyRecipients: (max: number) =>
    new SmtpReplyError(452, '4.5.3', `Too many recipients (at most ${max})`),
  tooBig: (max: number) => new SmtpReplyError(552, '5.3.4', `Message exceeds the size limit of ${max} bytes`),
  fromPolicy: (text: string) => new SmtpReplyError(550, '5.7.1', text),
  notStored: (cause: unknown) =>
    new SmtpReplyError(451, '4.3.0', 'Message not accepted: temporary storage failure, try again later', {
      cause,
    }),
} as const;
