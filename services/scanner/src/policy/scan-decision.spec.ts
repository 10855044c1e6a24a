import type { SpamEngineResult } from '@ser/data';
import { decide } from './scan-decision';
import type { ScanFindings } from './scan-decision';
import { effectiveScanPolicy } from './scan-policy';

const policy = effectiveScanPolicy(undefined, undefined);

function engines(spamscanner: number, spamd?: number): SpamEngineResult[] {
  const list: SpamEngineResult[] = [{ engine: 'spamscanner', status: 'ok', score: spamscanner, rules: [] }];
  if (spamd !== undefined) {
    list.push({ engine: 'spamd', status: 'ok', score: spamd, rules: [{ name: 'X' }] });
  }
  return list;
}

function findings(overrides: Partial<ScanFindings> = {}): ScanFindings {
  return { engines: engines(0, 0.4), phishing: [], attachments: [], ...overrides };
}

describe('decide', () => {
  it('passes a message below the quarantine score, with the combined score in the verdict', () => {
    const outcome = decide(findings({ engines: engines(0, 4.9) }), policy);
    expect(outcome).toMatchObject({
      state: 'scanned',
      verdict: { decision: 'pass', score: 4.9, reasons: [] },
    });
    expect(outcome.reason).toBeUndefined();
  });

  it('quarantines from the quarantine score and rejects from the reject score, adding both engines', () => {
    expect(decide(findings({ engines: engines(0, 5) }), policy)).toMatchObject({
      state: 'quarantined',
      reason: 'spam',
      verdict: { decision: 'quarantine', reasons: ['spam score 5 >= 5'] },
    });
    expect(decide(findings({ engines: engines(5, 5.25) }), policy)).toMatchObject({
      state: 'rejected_spam',
      reason: 'spam',
      verdict: { score: 10.25, reasons: ['spam score 10.25 >= 10'] },
    });
  });

  it('applies the phishing action, and ignores phishing when the policy says so', () => {
    const phishy = findings({ phishing: ['link text shows bank.test but goes to evil.test'] });
    expect(decide(phishy, policy)).toMatchObject({ state: 'quarantined', reason: 'phishing' });
    expect(decide(phishy, effectiveScanPolicy({ phishingAction: 'reject' }, undefined))).toMatchObject({
      state: 'rejected_spam',
      reason: 'phishing',
    });
    expect(decide(phishy, effectiveScanPolicy({ phishingAction: 'ignore' }, undefined)).state).toBe(
      'scanned',
    );
  });

  it('rejects a blocked attachment as a policy rejection, or quarantines it when the policy says so', () => {
    const exe = findings({
      attachments: [{ filename: 'invoice.exe', contentType: 'application/octet-stream', type: 'exe' }],
    });
    expect(decide(exe, policy)).toMatchObject({
      state: 'rejected_policy',
      reason: 'blocked_attachment',
      verdict: { reasons: ['blocked attachment: invoice.exe (exe)'] },
    });
    const lenient = effectiveScanPolicy(undefined, { blockedAttachmentAction: 'quarantine' });
    expect(decide(exe, lenient).state).toBe('quarantined');
  });

  it('lets the strictest finding decide and keeps every reason', () => {
    const both = findings({
      engines: engines(1000),
      attachments: [{ filename: 'a.js', contentType: 'text/javascript', type: 'js' }],
      phishing: ['IDN homograph'],
    });
    const outcome = decide(both, policy);
    expect(outcome).toMatchObject({ state: 'rejected_spam', reason: 'spam' });
    expect(outcome.verdict.reasons).toHaveLength(3);
  });

  it('records a missing engine only when there is one', () => {
    expect(decide(findings({ degraded: ['spamd: refused'] }), policy).verdict.degraded).toEqual([
      'spamd: refused',
    ]);
    expect(decide(findings({ degraded: [] }), policy).verdict).not.toHaveProperty('degraded');
  });
});
