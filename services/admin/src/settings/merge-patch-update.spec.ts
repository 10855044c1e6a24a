import { mergePatchUpdate } from './merge-patch-update';

describe('mergePatchUpdate', () => {
  it('sets values, unsets nulls and merges the named objects by dotted paths', () => {
    expect(
      mergePatchUpdate(
        {
          name: 'Acme',
          bulkPolicy: null,
          allowedFromDomains: ['acme.test'],
          scanPolicy: { spamRejectScore: 12, phishingAction: null, blockedAttachmentTypes: ['exe'] },
        },
        ['scanPolicy'],
      ),
    ).toEqual({
      $set: {
        name: 'Acme',
        allowedFromDomains: ['acme.test'],
        'scanPolicy.spamRejectScore': 12,
        'scanPolicy.blockedAttachmentTypes': ['exe'],
      },
      $unset: { bulkPolicy: '', 'scanPolicy.phishingAction': '' },
    });
  });

  it('removes a whole merged object with null and replaces an object not named as merged', () => {
    expect(mergePatchUpdate({ scanPolicy: null }, ['scanPolicy'])).toEqual({ $unset: { scanPolicy: '' } });
    expect(mergePatchUpdate({ scanPolicy: { spamdUnavailable: 'hold' } }, [])).toEqual({
      $set: { scanPolicy: { spamdUnavailable: 'hold' } },
    });
  });

  it('answers undefined when nothing changes', () => {
    expect(mergePatchUpdate({ scanPolicy: {} }, ['scanPolicy'])).toBeUndefined();
    expect(mergePatchUpdate({}, [])).toBeUndefined();
  });
});
