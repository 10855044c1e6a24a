import { rewriteReply } from './reply-policy';

describe('rewriteReply', () => {
  it('hides AUTH from the EHLO reply until the session is encrypted', () => {
    const ehlo = {
      code: 250,
      data: ['relay.test Nice to meet you', 'PIPELINING', 'AUTH PLAIN LOGIN', 'STARTTLS'],
      context: false as const,
    };
    expect(rewriteReply(ehlo, false).data).toEqual(['relay.test Nice to meet you', 'PIPELINING', 'STARTTLS']);
    expect(rewriteReply(ehlo, true).data).toEqual(ehlo.data);
  });

  it('keeps a text that already carries an enhanced code and stops the library from adding another', () => {
    expect(rewriteReply({ code: 550, data: '5.7.1 Not yours', context: undefined }, true)).toEqual({
      code: 550,
      data: '5.7.1 Not yours',
      context: false,
    });
  });

  it('rewords the library refusals the relay documents', () => {
    expect(
      rewriteReply(
        { code: 538, data: 'Error: Must issue a STARTTLS command first', context: undefined },
        false,
      ).data,
    ).toMatch(/^5\.7\.11 /);
    expect(
      rewriteReply({ code: 530, data: 'Error: authentication Required', context: undefined }, true),
    ).toEqual({
      code: 530,
      data: '5.7.0 Authentication required',
      context: false,
    });
    expect(rewriteReply({ code: 421, data: 'Server shutting down', context: 'MAIL' }, true).data).toBe(
      '4.3.2 Service shutting down, try again later',
    );
  });

  it('lets the library code a refusal it sent without a context, but never a greeting or EHLO', () => {
    expect(
      rewriteReply({ code: 501, data: 'Error: Bad hostname syntax', context: false }, false).context,
    ).toBeUndefined();
    expect(rewriteReply({ code: 220, data: 'relay.test ESMTP', context: false }, false).context).toBe(false);
    expect(rewriteReply({ code: 503, data: 'Error: need MAIL command', context: 'DATA' }, true).context).toBe(
      'DATA',
    );
  });
});
