/** The pipeline stage a held message goes back to when an operator retries it. */
export type RetryStage = 'scan' | 'sign';

/** Hold reasons of the signer (sign-message.use-case.ts): the scan has passed, signing is re-run. */
const SIGNER_REASONS: readonly string[] = ['dkim_key_missing'];
const SIGNER_PREFIXES: readonly string[] = ['dkim_', 'sign'];

/**
 * Where a retried held message starts again. Only a reason known to come from the signer skips the
 * scan; scanner reasons (`av_unavailable`, `as_unavailable`, `scan…`) and any unknown or missing
 * reason re-run the scan, so a retry can never let an unscanned message through.
 */
export function retryStage(reason: string | undefined): RetryStage {
  if (reason === undefined) {
    return 'scan';
  }
  return SIGNER_REASONS.includes(reason) || SIGNER_PREFIXES.some((p) => reason.startsWith(p))
    ? 'sign'
    : 'scan';
}
