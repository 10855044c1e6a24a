import { withoutCode } from './smtp-delivery';

describe('withoutCode', () => {
  it('drops the reply code that nodemailer leaves at the start of a response', () => {
    expect(withoutCode('250 2.0.0 Ok: queued as 12345')).toBe('2.0.0 Ok: queued as 12345');
    expect(withoutCode('550-5.1.1 No such user')).toBe('5.1.1 No such user');
  });

  it('leaves a text without a code as it is', () => {
    expect(withoutCode('ECONNREFUSED connect failed')).toBe('ECONNREFUSED connect failed');
  });
});
