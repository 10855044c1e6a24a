import type { AttachmentFinding, ScanAction, ScanVerdict, SpamEngineResult } from '@ser/data';
import type { EffectiveScanPolicy } from './scan-policy';

export interface ScanFindings {
  engines: SpamEngineResult[];
  /** Phishing findings (IDN homograph links, link text naming another host). */
  phishing: string[];
  /** Attachments of a blocked type. */
  attachments: AttachmentFinding[];
  /** Engines that were on but did not answer, and the policy let the scan go on without them. */
  degraded?: string[];
}

/** What the message becomes: the state after the scan and the verdict stored with it. */
export interface ScanOutcome {
  state: 'scanned' | 'quarantined' | 'rejected_spam' | 'rejected_policy';
  /** The kind of finding that decided, for reports: absent when the message passed. */
  reason?: 'spam' | 'phishing' | 'blocked_attachment';
  verdict: ScanVerdict;
}

type Decision = ScanVerdict['decision'];

const SEVERITY: Record<Decision, number> = { pass: 0, quarantine: 1, reject: 2 };

/**
 * Applies the policy to the engines' findings. The strictest finding wins; a rejection caused by an
 * attachment type is a policy rejection, any other a spam rejection (reports count them apart).
 */
export function decide(findings: ScanFindings, policy: EffectiveScanPolicy): ScanOutcome {
  const score = round(findings.engines.reduce((sum, e) => sum + (e.score ?? 0), 0));
  const reasons: string[] = [];
  let decision: Decision = 'pass';
  let decidedBy: ScanOutcome['reason'];
  const raise = (to: Decision, kind: NonNullable<ScanOutcome['reason']>, reason: string): void => {
    reasons.push(reason);
    if (SEVERITY[to] > SEVERITY[decision]) {
      decision = to;
      decidedBy = kind;
    }
  };

  if (score >= policy.spamRejectScore) {
    raise('reject', 'spam', `spam score ${String(score)} >= ${String(policy.spamRejectScore)}`);
  } else if (score >= policy.spamQuarantineScore) {
    raise('quarantine', 'spam', `spam score ${String(score)} >= ${String(policy.spamQuarantineScore)}`);
  }
  const phishing = asDecision(policy.phishingAction);
  if (phishing !== undefined && findings.phishing.length > 0) {
    raise(phishing, 'phishing', `phishing: ${findings.phishing[0] ?? ''}`);
  }
  const attachment = asDecision(policy.blockedAttachmentAction);
  if (attachment !== undefined) {
    for (const found of findings.attachments) {
      raise(
        attachment,
        'blocked_attachment',
        `blocked attachment: ${found.filename ?? found.contentType} (${found.type})`,
      );
    }
  }

  const verdict: ScanVerdict = {
    decision,
    reasons,
    score,
    engines: findings.engines,
    attachments: findings.attachments,
    phishing: findings.phishing,
    ...(findings.degraded !== undefined && findings.degraded.length > 0
      ? { degraded: findings.degraded }
      : {}),
  };
  if (decision === 'pass') {
    return { state: 'scanned', verdict };
  }
  const state =
    decision === 'quarantine'
      ? 'quarantined'
      : decidedBy === 'blocked_attachment'
        ? 'rejected_policy'
        : 'rejected_spam';
  return { state, reason: decidedBy, verdict };
}

function asDecision(action: ScanAction): Decision | undefined {
  return action === 'ignore' ? undefined : action;
}

function round(score: number): number {
  return Math.round(score * 100) / 100;
}
