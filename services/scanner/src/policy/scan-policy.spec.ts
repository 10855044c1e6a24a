import { DEFAULT_SCAN_POLICY, effectiveScanPolicy } from './scan-policy';

describe('effectiveScanPolicy', () => {
  it('takes the relay defaults when neither tenant nor application sets anything', () => {
    expect(effectiveScanPolicy(undefined, undefined)).toEqual(DEFAULT_SCAN_POLICY);
    expect(DEFAULT_SCAN_POLICY.blockedAttachmentTypes.has('exe')).toBe(true);
    expect(DEFAULT_SCAN_POLICY.blockedAttachmentTypes.has('pdf')).toBe(false);
  });

  it('takes each field from the most specific level that sets it', () => {
    const policy = effectiveScanPolicy(
      { spamQuarantineScore: 4, spamRejectScore: 8, phishingAction: 'reject', spamdUnavailable: 'hold' },
      { spamRejectScore: 20, blockedAttachmentTypes: ['ZIP', 'exe'] },
    );
    expect(policy).toMatchObject({
      spamQuarantineScore: 4,
      spamRejectScore: 20,
      phishingAction: 'reject',
      spamdUnavailable: 'hold',
      blockedAttachmentAction: 'reject',
    });
    expect([...policy.blockedAttachmentTypes]).toEqual(['zip', 'exe']);
  });

  it('never lets the reject score fall below the quarantine score set at another level', () => {
    const policy = effectiveScanPolicy({ spamRejectScore: 6 }, { spamQuarantineScore: 9 });
    expect(policy.spamQuarantineScore).toBe(9);
    expect(policy.spamRejectScore).toBe(9);
  });

  it('lets an application allow every attachment type with an empty list', () => {
    expect(effectiveScanPolicy(undefined, { blockedAttachmentTypes: [] }).blockedAttachmentTypes.size).toBe(
      0,
    );
  });
});
