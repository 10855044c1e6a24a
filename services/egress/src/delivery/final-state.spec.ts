import { finalMessageState } from './final-state';

describe('finalMessageState', () => {
  it('stays open while any recipient is pending or deferred', () => {
    expect(finalMessageState([{ state: 'delivered' }, { state: 'deferred' }])).toBeUndefined();
    expect(finalMessageState([{ state: 'pending' }])).toBeUndefined();
    expect(finalMessageState([])).toBeUndefined();
  });

  it('is delivered, bounced or partially delivered once all are final', () => {
    expect(finalMessageState([{ state: 'delivered' }, { state: 'delivered' }])).toBe('delivered');
    expect(finalMessageState([{ state: 'bounced' }])).toBe('bounced');
    expect(finalMessageState([{ state: 'delivered' }, { state: 'bounced' }])).toBe('partially_delivered');
    expect(finalMessageState([{ state: 'delivered' }, { state: 'suppressed' }])).toBe('partially_delivered');
  });

  it('is expired only when every recipient ran out of time', () => {
    expect(finalMessageState([{ state: 'expired' }, { state: 'expired' }])).toBe('expired');
    expect(finalMessageState([{ state: 'expired' }, { state: 'bounced' }])).toBe('bounced');
    expect(finalMessageState([{ state: 'suppressed' }])).toBe('bounced');
  });
});
