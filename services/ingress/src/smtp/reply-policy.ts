/** An enhanced status code (RFC 3463) at the start of a reply text. */
const ENHANCED = /^[245]\.\d{1,3}\.\d{1,3}(?: |$)/;

/**
 * smtp-server's own texts that the relay words differently or codes more precisely. The keys are
 * the library's exact texts (smtp-server 3.21); an unknown text keeps the library's code.
 */
const OWN_TEXTS: Readonly<Record<string, string>> = {
  // RFC 4954 §6: 538 5.7.11, encryption required for the requested authentication mechanism.
  'Error: Must issue a STARTTLS command first':
    '5.7.11 Encryption required: send STARTTLS before AUTH (RFC 3207, RFC 4954)',
  'Error: authentication Required': '5.7.0 Authentication required',
  'Server shutting down': '4.3.2 Service shutting down, try again later',
  'Timeout - closing connection': '4.4.2 Idle timeout, closing connection',
};

export interface Reply {
  code: number;
  data: string | string[] | null | undefined;
  /** smtp-server's context: a command name or mapping key, or `false` for "no enhanced code". */
  context: string | false | undefined;
}

/**
 * Gives every negative reply an enhanced status code (RFC 2034, RFC 3463) exactly once, words the
 * library's own refusals the relay's way, and hides AUTH from EHLO until the session is encrypted
 * (RFC 4954 §4, RFC 8314 §3.3: credentials only inside TLS).
 */
export function rewriteReply(reply: Reply, secure: boolean): Reply {
  const { code, data, context } = reply;
  if (Array.isArray(data)) {
    return code === 250 && !secure
      ? { code, data: data.filter((line) => !/^AUTH\b/i.test(line)), context }
      : reply;
  }
  if (typeof data === 'string') {
    if (ENHANCED.test(data)) {
      return { code, data, context: false };
    }
    const own = OWN_TEXTS[data];
    if (own !== undefined) {
      return { code, data: own, context: false };
    }
  }
  // The library sends some refusals (bad EHLO syntax, connection limit) with `false`, which would
  // leave them without an enhanced code; let its code table pick one.
  return { code, data, context: code >= 400 && context === false ? undefined : context };
}
