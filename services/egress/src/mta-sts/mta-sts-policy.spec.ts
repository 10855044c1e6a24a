import {
  checkPolicyResponse,
  fetchFailureOf,
  MAX_POLICY_BYTES,
  MTA_STS_MAX_AGE_LIMIT,
  MtaStsFetchError,
  MtaStsPolicyError,
  mxMatches,
  parsePolicy,
  parseStsRecord,
} from './mta-sts-policy';

describe('parseStsRecord (RFC 8461 §3.1)', () => {
  it('reads the id of the single STSv1 record', () => {
    expect(parseStsRecord(['v=STSv1; id=20160831085700Z;'])).toEqual({
      kind: 'found',
      id: '20160831085700Z',
    });
    expect(parseStsRecord(['v=STSv1;id=abc'])).toEqual({ kind: 'found', id: 'abc' });
    expect(parseStsRecord(['v=STSv1 \t; id=abc \t;'])).toEqual({ kind: 'found', id: 'abc' });
  });

  it('ignores records that are not STSv1 and extension fields', () => {
    expect(
      parseStsRecord(['v=spf1 -all', 'google-site-verification=x', 'v=STSv1; ext_1=a.b; id=abc; x-y=1']),
    ).toEqual({ kind: 'found', id: 'abc' });
  });

  it('gives no policy when there is no STSv1 record', () => {
    expect(parseStsRecord([])).toEqual({ kind: 'absent' });
    expect(parseStsRecord(['v=spf1 -all'])).toEqual({ kind: 'absent' });
    // Case-sensitive version (%s"v=STSv1") and no prefix match on a longer version name.
    expect(parseStsRecord(['v=stsv1; id=abc'])).toEqual({ kind: 'absent' });
    expect(parseStsRecord(['v=STSv10; id=abc'])).toEqual({ kind: 'absent' });
  });

  it('gives no policy when more than one STSv1 record is published, even with the same id', () => {
    expect(parseStsRecord(['v=STSv1; id=abc', 'v=STSv1; id=abc'])).toMatchObject({ kind: 'invalid' });
  });

  it.each([
    ['no id', 'v=STSv1;'],
    ['no fields', 'v=STSv1'],
    ['empty id', 'v=STSv1; id=;'],
    ['id longer than 32', `v=STSv1; id=${'a'.repeat(33)}`],
    ['id with punctuation', 'v=STSv1; id=2016-08-31'],
    ['repeated id', 'v=STSv1; id=a; id=b'],
    ['empty field', 'v=STSv1;; id=abc'],
    ['field without =', 'v=STSv1; id=abc; junk'],
    ['value with a space', 'v=STSv1; id=abc; ext=a b'],
  ])('gives no policy for a malformed record (%s)', (_name, record) => {
    expect(parseStsRecord([record])).toMatchObject({ kind: 'invalid' });
  });

  it('accepts an id of exactly 32 characters', () => {
    const id = 'A1'.repeat(16);
    expect(parseStsRecord([`v=STSv1; id=${id}`])).toEqual({ kind: 'found', id });
  });
});

describe('parsePolicy (RFC 8461 §3.2)', () => {
  const valid =
    'version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n';

  it('parses a CRLF policy with several mx lines', () => {
    expect(parsePolicy(valid)).toEqual({
      mode: 'enforce',
      mx: ['mail.example.com', '*.example.net'],
      maxAge: 604800,
    });
  });

  it('accepts LF line ends, no final line end, surrounding blanks and unknown keys', () => {
    const policy = parsePolicy(
      'version:STSv1\nmode:  testing \nfoo: bar\nmx:MX.Example.COM.\nmax_age: 86400',
    );
    expect(policy).toEqual({ mode: 'testing', mx: ['mx.example.com'], maxAge: 86400 });
  });

  it('accepts mode none without mx (§8.3 policy removal)', () => {
    expect(parsePolicy('version: STSv1\nmode: none\nmax_age: 0\n')).toEqual({
      mode: 'none',
      mx: [],
      maxAge: 0,
    });
  });

  it(`accepts max_age up to ${MTA_STS_MAX_AGE_LIMIT} and rejects beyond`, () => {
    const withAge = (age: string): string => `version: STSv1\nmode: enforce\nmx: a.test\nmax_age: ${age}\n`;
    expect(parsePolicy(withAge(String(MTA_STS_MAX_AGE_LIMIT))).maxAge).toBe(MTA_STS_MAX_AGE_LIMIT);
    expect(() => parsePolicy(withAge(String(MTA_STS_MAX_AGE_LIMIT + 1)))).toThrow(MtaStsPolicyError);
  });

  it.each([
    ['missing version', 'mode: enforce\nmx: a.test\nmax_age: 60\n'],
    ['wrong version', 'version: STSv2\nmode: enforce\nmx: a.test\nmax_age: 60\n'],
    ['lower-case version', 'version: stsv1\nmode: enforce\nmx: a.test\nmax_age: 60\n'],
    ['unknown mode', 'version: STSv1\nmode: strict\nmx: a.test\nmax_age: 60\n'],
    ['missing mode', 'version: STSv1\nmx: a.test\nmax_age: 60\n'],
    ['enforce without mx', 'version: STSv1\nmode: enforce\nmax_age: 60\n'],
    ['testing without mx', 'version: STSv1\nmode: testing\nmax_age: 60\n'],
    ['missing max_age', 'version: STSv1\nmode: enforce\nmx: a.test\n'],
    ['negative max_age', 'version: STSv1\nmode: enforce\nmx: a.test\nmax_age: -1\n'],
    ['fractional max_age', 'version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 1.5\n'],
    ['11-digit max_age', 'version: STSv1\nmode: enforce\nmx: a.test\nmax_age: 00000000060\n'],
    ['repeated mode', 'version: STSv1\nmode: enforce\nmode: none\nmx: a.test\nmax_age: 60\n'],
    ['line without colon', 'version: STSv1\nmode: enforce\nmx a.test\nmax_age: 60\n'],
    ['empty mx', 'version: STSv1\nmode: enforce\nmx:\nmax_age: 60\n'],
    ['wildcard inside mx', 'version: STSv1\nmode: enforce\nmx: mx.*.a.test\nmax_age: 60\n'],
    ['bare wildcard mx', 'version: STSv1\nmode: enforce\nmx: *\nmax_age: 60\n'],
    ['mx with a path', 'version: STSv1\nmode: enforce\nmx: a.test/x\nmax_age: 60\n'],
    ['an HTML page', '<html><body>version: STSv1</body></html>'],
  ])('rejects an invalid policy (%s)', (_name, text) => {
    expect(() => parsePolicy(text)).toThrow(MtaStsPolicyError);
  });
});

describe('mxMatches (RFC 8461 §4.1)', () => {
  it('matches exact names case-insensitively, ignoring trailing dots', () => {
    expect(mxMatches(['mail.example.com'], 'mail.example.com')).toBe(true);
    expect(mxMatches(['Mail.Example.com.'], 'MAIL.example.COM.')).toBe(true);
    expect(mxMatches(['mail.example.com'], 'mail2.example.com')).toBe(false);
    expect(mxMatches(['mail.example.com'], 'example.com')).toBe(false);
  });

  it('lets a wildcard stand for exactly one leftmost label', () => {
    const patterns = ['*.example.com'];
    expect(mxMatches(patterns, 'mx1.example.com')).toBe(true);
    expect(mxMatches(patterns, 'MX1.EXAMPLE.COM.')).toBe(true);
    expect(mxMatches(patterns, 'example.com')).toBe(false);
    expect(mxMatches(patterns, 'a.mx1.example.com')).toBe(false);
    expect(mxMatches(patterns, 'mx1.example.community')).toBe(false);
    expect(mxMatches(patterns, 'mx1xexample.com')).toBe(false);
    expect(mxMatches(patterns, '.example.com')).toBe(false);
  });

  it('matches when any of several patterns matches, never with none or an empty host', () => {
    expect(mxMatches(['mx.a.test', '*.b.test'], 'x.b.test')).toBe(true);
    expect(mxMatches(['mx.a.test', '*.b.test'], 'mx.c.test')).toBe(false);
    expect(mxMatches([], 'mx.a.test')).toBe(false);
    expect(mxMatches(['mx.a.test'], '')).toBe(false);
  });
});

describe('checkPolicyResponse (RFC 8461 §3.3)', () => {
  const failureOf = (status: number, type?: string, length?: string): string | undefined => {
    try {
      checkPolicyResponse(status, type, length);
      return undefined;
    } catch (error) {
      return fetchFailureOf(error);
    }
  };

  it('accepts a 200 text/plain response, with parameters and any case', () => {
    expect(failureOf(200, 'text/plain')).toBeUndefined();
    expect(failureOf(200, 'Text/Plain; charset=utf-8', '120')).toBeUndefined();
    expect(failureOf(200, 'text/plain', String(MAX_POLICY_BYTES))).toBeUndefined();
  });

  it('refuses redirects instead of following them', () => {
    for (const status of [301, 302, 303, 307, 308]) {
      expect(failureOf(status, 'text/plain')).toBe('redirect');
    }
  });

  it('refuses other statuses, other media types and oversized bodies', () => {
    expect(failureOf(404, 'text/plain')).toBe('status');
    expect(failureOf(204, 'text/plain')).toBe('status');
    expect(failureOf(200, 'text/html')).toBe('content-type');
    expect(failureOf(200, 'text/plain-ish')).toBe('content-type');
    expect(failureOf(200, undefined)).toBe('content-type');
    expect(failureOf(200, 'text/plain', String(MAX_POLICY_BYTES + 1))).toBe('too-large');
  });
});

describe('fetchFailureOf', () => {
  const withCode = (code: string): Error => Object.assign(new Error(code), { code });

  it('tells certificate problems from other network errors', () => {
    expect(fetchFailureOf(withCode('DEPTH_ZERO_SELF_SIGNED_CERT'))).toBe('certificate');
    expect(fetchFailureOf(withCode('ERR_TLS_CERT_ALTNAME_INVALID'))).toBe('certificate');
    expect(fetchFailureOf(withCode('CERT_HAS_EXPIRED'))).toBe('certificate');
    expect(fetchFailureOf(withCode('UNABLE_TO_VERIFY_LEAF_SIGNATURE'))).toBe('certificate');
    expect(fetchFailureOf(withCode('ECONNREFUSED'))).toBe('network');
    expect(fetchFailureOf('not an error')).toBe('network');
  });

  it('keeps the reason of its own errors and names invalid policies', () => {
    expect(fetchFailureOf(new MtaStsFetchError('timeout', 'slow'))).toBe('timeout');
    expect(fetchFailureOf(new MtaStsPolicyError('bad'))).toBe('invalid-policy');
  });
});
