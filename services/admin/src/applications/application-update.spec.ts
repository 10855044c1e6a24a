import { applicationUpdate } from './application-update';

describe('applicationUpdate', () => {
  it('sets values and unsets nulls', () => {
    expect(
      applicationUpdate({
        name: 'billing',
        status: 'suspended',
        allowedFromDomains: [],
        allowedFromAddresses: null,
        allowedSourceIps: ['10.0.0.0/8'],
        bulkPolicy: null,
      }),
    ).toEqual({
      $set: {
        name: 'billing',
        status: 'suspended',
        allowedFromDomains: [],
        allowedSourceIps: ['10.0.0.0/8'],
      },
      $unset: { allowedFromAddresses: '', bulkPolicy: '' },
    });
  });

  it('merges limits key by key', () => {
    expect(applicationUpdate({ limits: { messagesPerDay: 500, maxConnections: null } })).toEqual({
      $set: { 'limits.messagesPerDay': 500 },
      $unset: { 'limits.maxConnections': '' },
    });
  });

  it('removes every limit with limits: null', () => {
    expect(applicationUpdate({ limits: null })).toEqual({ $unset: { limits: '' } });
  });

  it('leaves out empty operators and answers undefined when nothing changes', () => {
    expect(applicationUpdate({ bulkPolicy: 'flag' })).toEqual({ $set: { bulkPolicy: 'flag' } });
    expect(applicationUpdate({ limits: {} })).toBeUndefined();
  });
});
