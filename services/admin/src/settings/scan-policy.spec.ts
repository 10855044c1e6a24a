import { scanPolicy, scanPolicyPatch } from './scan-policy';

describe('scanPolicy', () => {
  it('accepts a full policy and normalises attachment types', () => {
    expect(
      scanPolicy.parse({
        spamQuarantineScore: 4.5,
        spamRejectScore: 4.5,
        phishingAction: 'reject',
        blockedAttachmentTypes: ['.EXE', ' js ', 'exe', '7z'],
        blockedAttachmentAction: 'quarantine',
        spamdUnavailable: 'hold',
      }),
    ).toEqual({
      spamQuarantineScore: 4.5,
      spamRejectScore: 4.5,
      phishingAction: 'reject',
      blockedAttachmentTypes: ['exe', 'js', '7z'],
      blockedAttachmentAction: 'quarantine',
      spamdUnavailable: 'hold',
    });
    expect(scanPolicy.parse({})).toEqual({});
    expect(scanPolicy.parse({ blockedAttachmentTypes: [] })).toEqual({ blockedAttachmentTypes: [] });
  });

  const issues = (value: unknown) =>
    scanPolicy.safeParse(value).error?.issues.map((i) => [i.path.join('.'), i.message]);

  it('refuses a reject score under the quarantine score in the same object', () => {
    expect(issues({ spamQuarantineScore: 10, spamRejectScore: 5 })).toEqual([
      ['spamRejectScore', 'must be at least spamQuarantineScore'],
    ]);
    expect(issues({ spamRejectScore: 5 })).toBeUndefined();
  });

  it.each([
    [{ spamQuarantineScore: -1 }, 'spamQuarantineScore'],
    [{ spamRejectScore: 1000.5 }, 'spamRejectScore'],
    [{ spamRejectScore: '10' }, 'spamRejectScore'],
    [{ phishingAction: 'allow' }, 'phishingAction'],
    [{ blockedAttachmentAction: 'hold' }, 'blockedAttachmentAction'],
    [{ spamdUnavailable: 'reject' }, 'spamdUnavailable'],
    [{ blockedAttachmentTypes: ['tar.gz'] }, 'blockedAttachmentTypes.0'],
    [{ blockedAttachmentTypes: ['exe', ''] }, 'blockedAttachmentTypes.1'],
    [{ blockedAttachmentTypes: ['a'.repeat(17)] }, 'blockedAttachmentTypes.0'],
    [{ blockedAttachmentTypes: ['..exe'] }, 'blockedAttachmentTypes.0'],
    [{ blockedAttachmentTypes: Array.from({ length: 201 }, (_, i) => `t${i}`) }, 'blockedAttachmentTypes'],
    [{ spamScore: 5 }, ''],
  ])('refuses %j', (value, path) => {
    expect(issues(value)?.map(([p]) => p)).toEqual([path]);
  });

  it('accepts 200 attachment types', () => {
    const types = Array.from({ length: 200 }, (_, i) => `t${i}`);
    expect(scanPolicy.parse({ blockedAttachmentTypes: types }).blockedAttachmentTypes).toHaveLength(200);
  });
});

describe('scanPolicyPatch', () => {
  it('accepts null for every field', () => {
    const nulls = {
      spamQuarantineScore: null,
      spamRejectScore: null,
      phishingAction: null,
      blockedAttachmentTypes: null,
      blockedAttachmentAction: null,
      spamdUnavailable: null,
    };
    expect(scanPolicyPatch.parse(nulls)).toEqual(nulls);
  });

  it('compares the scores only when both are numbers', () => {
    expect(scanPolicyPatch.safeParse({ spamQuarantineScore: 8, spamRejectScore: null }).success).toBe(true);
    expect(scanPolicyPatch.safeParse({ spamQuarantineScore: 8, spamRejectScore: 7 }).success).toBe(false);
  });
});
