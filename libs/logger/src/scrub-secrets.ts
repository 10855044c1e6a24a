const REDACTED = '[redacted]';

/**
 * Secrets that can show up inside free text (error messages and stacks), each with what stays:
 * enough to tell which URL, token or key it was, never the secret part.
 */
const SECRET_TEXT: readonly (readonly [RegExp, string])[] = [
  // `scheme://user:password@host`: the password may itself hold `@` or `:` when not encoded.
  [/\b([a-z][a-z0-9+.-]*:\/\/)([^\s/?#@:]*):[^\s/?#]*@/gi, `$1$2:${REDACTED}@`],
  // API tokens `ser.<tokenId>.<secret>`: the id names the token, the secret proves possession.
  [/\bser\.(tok_[0-9a-f]+)\.[A-Za-z0-9_-]+/g, `ser.$1.${REDACTED}`],
  // PEM private keys (DKIM keys, TLS keys), also cut short.
  [
    /-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?(?:-----END \1PRIVATE KEY-----|$)/g,
    `[redacted $1PRIVATE KEY]`,
  ],
  // HTTP credentials and SMTP AUTH initial responses quoted in an error.
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g, `$1 ${REDACTED}`],
  [/\b(AUTH\s+(?:PLAIN|LOGIN|XOAUTH2))\s+[A-Za-z0-9+/=]+/gi, `$1 ${REDACTED}`],
];

/** `text` without the secrets free text may carry (URL passwords, API tokens, private keys, credentials). */
export function scrubSecrets(text: string): string {
  let scrubbed = text;
  for (const [pattern, replacement] of SECRET_TEXT) {
    scrubbed = scrubbed.replace(pattern, replacement);
  }
  return scrubbed;
}
