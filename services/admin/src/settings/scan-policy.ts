import { z } from 'zod';

/** Spam scores are SpamAssassin points; anything above this is a typo, not a policy. */
export const MAX_SPAM_SCORE = 1000;
/** The scanner checks every attachment of every message against the list. */
export const MAX_BLOCKED_ATTACHMENT_TYPES = 200;

const ATTACHMENT_TYPE = /^[a-z0-9]{1,16}$/;

const spamScore = z.number().min(0).max(MAX_SPAM_SCORE);
const scanAction = z.enum(['reject', 'quarantine', 'ignore']);
const spamdUnavailable = z.enum(['continue', 'hold']);

/** `.EXE` and `exe` name the same type: lowercased, without a leading dot, then checked. */
const attachmentType = z
  .string()
  .trim()
  .toLowerCase()
  .transform((value) => value.replace(/^\./, ''))
  .pipe(z.string().regex(ATTACHMENT_TYPE, 'expected a file name extension: 1 to 16 letters or digits'));

/** Duplicates removed, first occurrence kept: the list is a set. */
const blockedAttachmentTypes = z
  .array(attachmentType)
  .max(MAX_BLOCKED_ATTACHMENT_TYPES)
  .transform((types) => [...new Set(types)]);

/**
 * A reject score under the quarantine score would skip quarantine altogether. It is refused when
 * both are in the same object; set at different levels (tenant and application), the scanner takes
 * the larger of the two as the reject score.
 */
function rejectNotBelowQuarantine(
  policy: { spamQuarantineScore?: number | null; spamRejectScore?: number | null },
  ctx: z.RefinementCtx,
): void {
  const { spamQuarantineScore: quarantine, spamRejectScore: reject } = policy;
  if (typeof quarantine === 'number' && typeof reject === 'number' && reject < quarantine) {
    ctx.addIssue({
      code: 'custom',
      path: ['spamRejectScore'],
      message: 'must be at least spamQuarantineScore',
    });
  }
}

/** A scan policy (tenant) or its overrides (application); every field optional. */
export const scanPolicy = z
  .object({
    spamQuarantineScore: spamScore.optional(),
    spamRejectScore: spamScore.optional(),
    phishingAction: scanAction.optional(),
    blockedAttachmentTypes: blockedAttachmentTypes.optional(),
    blockedAttachmentAction: scanAction.optional(),
    spamdUnavailable: spamdUnavailable.optional(),
  })
  .strict()
  .superRefine(rejectNotBelowQuarantine);

/** A merge patch of a scan policy: a value sets the field, `null` removes it, absent keeps it. */
export const scanPolicyPatch = z
  .object({
    spamQuarantineScore: spamScore.nullable().optional(),
    spamRejectScore: spamScore.nullable().optional(),
    phishingAction: scanAction.nullable().optional(),
    blockedAttachmentTypes: blockedAttachmentTypes.nullable().optional(),
    blockedAttachmentAction: scanAction.nullable().optional(),
    spamdUnavailable: spamdUnavailable.nullable().optional(),
  })
  .strict()
  .superRefine(rejectNotBelowQuarantine);
