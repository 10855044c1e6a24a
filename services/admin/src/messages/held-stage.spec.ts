import { retryStage } from './held-stage';

describe('retryStage', () => {
  it.each(['av_unavailable', 'as_unavailable', 'scan_timeout', 'spamd_unavailable'])(
    're-runs the scan for the scanner reason %s',
    (reason) => {
      expect(retryStage(reason)).toBe('scan');
    },
  );

  it.each(['dkim_key_missing', 'dkim_key_unreadable', 'sign_failed'])(
    're-runs signing for the signer reason %s',
    (reason) => {
      expect(retryStage(reason)).toBe('sign');
    },
  );

  it('re-runs the scan when the reason is missing or unknown, never skipping it', () => {
    expect(retryStage(undefined)).toBe('scan');
    expect(retryStage('')).toBe('scan');
    expect(retryStage('something_new')).toBe('scan');
  });
});
