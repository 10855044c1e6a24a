import { Writable } from 'node:stream';
import { createLogger, redactFields } from './logger';
import type { Logger } from './logger';
import { scrubSecrets } from './scrub-secrets';

const SECRET = 'PEM-SECRET-hunter2';

function capture(): { logger: Logger; lines: () => string } {
  let text = '';
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      text += chunk.toString();
      done();
    },
  });
  return { logger: createLogger({ level: 'info', pretty: false, destination }), lines: () => text };
}

function logged(fields: Record<string, unknown>): string {
  const { logger, lines } = capture();
  logger.info(fields, 'x');
  return lines();
}

describe('log redaction', () => {
  it.each([
    ['at the top', { privateKeyPem: SECRET }],
    ['one level down', { key: { privateKeyPem: SECRET } }],
    ['two levels down, as in a request body', { req: { body: { privateKeyPem: SECRET } } }],
    ['a password two levels down', { req: { body: { password: SECRET } } }],
    ['an authorization header', { req: { headers: { authorization: `Bearer ${SECRET}` } } }],
    ['a cookie header', { req: { headers: { cookie: `session=${SECRET}` } } }],
    ['a token two levels down', { res: { body: { token: `ser.tok_1.${SECRET}` } } }],
    ['a credential secret', { credential: { secret: SECRET } }],
    ['a smarthost AUTH password (nodemailer auth.pass)', { options: { auth: { user: 'u', pass: SECRET } } }],
    [
      'the master key in a config object',
      { config: { SER_MASTER_KEY: SECRET, SER_MASTER_KEY_PREVIOUS: SECRET } },
    ],
    ['the admin token in a config object', { config: { SER_ADMIN_TOKEN: SECRET } }],
    [
      'connection URLs',
      { config: { MONGO_URL: `mongodb://u:${SECRET}@h`, REDIS_URL: `redis://:${SECRET}@h` } },
    ],
    ['a master key field', { masterKey: SECRET }],
  ])('keeps secrets out of the line: %s', (_, fields) => {
    const line = logged(fields);
    expect(line).not.toContain(SECRET);
    expect(line).toContain('[redacted]');
  });

  it.each([
    ['three levels down', { a: { b: { c: { password: SECRET } } } }],
    ['in an array', { attempts: [{ auth: { pass: SECRET } }] }],
    ['whatever the case of the name', { headers: { Authorization: `Basic ${SECRET}` } }],
  ])('keeps secrets out of the line: %s', (_, fields) => {
    const line = logged(fields);
    expect(line).not.toContain(SECRET);
    expect(line).toContain('[redacted]');
  });

  it('censors a secret-named binding of a child logger', () => {
    const { logger, lines } = capture();
    logger.child({ password: SECRET, tenantId: 'ten_1' }).info({ code: 'X' }, 'x');
    expect(lines()).not.toContain(SECRET);
    expect(JSON.parse(lines())).toMatchObject({ password: '[redacted]', tenantId: 'ten_1', code: 'X' });
  });

  it('hands a line without secrets on as it is, without a copy', () => {
    const fields = { code: 'X', messageId: 'm1', results: { delivered: 1 }, err: new Error('x') };
    expect(redactFields(fields)).toBe(fields);
  });

  it('leaves the other fields and the caller object as they were', () => {
    const fields = { code: 'X', messageId: 'm1', tenantId: 'ten_1', auth: { user: 'app', pass: SECRET } };
    expect(JSON.parse(logged(fields))).toEqual(
      expect.objectContaining({ code: 'X', messageId: 'm1', auth: { user: 'app', pass: '[redacted]' } }),
    );
    expect(fields.auth.pass).toBe(SECRET);
  });
});

describe('error serialization', () => {
  const line = (err: unknown): string => logged({ code: 'X', err });

  it('cuts the password out of a connection URL in the message and the stack', () => {
    const text = line(new Error(`cannot connect to mongodb://ser:${SECRET}@db.internal:27017/ser`));
    expect(text).not.toContain(SECRET);
    const { err } = JSON.parse(text) as { err: { type: string; message: string; stack: string } };
    expect(err.type).toBe('Error');
    expect(err.message).toBe('cannot connect to mongodb://ser:[redacted]@db.internal:27017/ser');
    expect(err.stack).toContain('mongodb://ser:[redacted]@db.internal');
  });

  it('scrubs the causes, nested errors and own fields, not the original error', () => {
    const cause = new Error(`redis://:${SECRET}@cache:6379 refused`);
    const error = Object.assign(new Error('queue unavailable', { cause }), {
      options: { url: `redis://default:${SECRET}@cache:6379`, hosts: [`amqp://u:${SECRET}@h`] },
      inner: new Error(`token ser.tok_0123456789abcdef01234567.${SECRET}`),
    });
    const text = line(error);
    expect(text).not.toContain(SECRET);
    expect(text).toContain('redis://default:[redacted]@cache:6379');
    expect(text).toContain('ser.tok_0123456789abcdef01234567.[redacted]');
    expect(error.options.url).toContain(SECRET);
    expect(cause.message).toContain(SECRET);
  });

  it('censors secret-named fields of an error', () => {
    const error = Object.assign(new Error('login refused'), {
      config: { auth: { pass: SECRET } },
      token: SECRET,
    });
    const text = line(error);
    expect(text).not.toContain(SECRET);
    expect(JSON.parse(text)).toMatchObject({
      err: { token: '[redacted]', config: { auth: { pass: '[redacted]' } } },
    });
  });

  it('scrubs the errors of an AggregateError', () => {
    const text = line(new AggregateError([new Error(`mongodb+srv://a:${SECRET}@cluster/x`)], 'all failed'));
    expect(text).not.toContain(SECRET);
    expect(text).toContain('mongodb+srv://a:[redacted]@cluster/x');
  });

  it('keeps a value that is not an error as it is', () => {
    expect(JSON.parse(line('plain text'))).toMatchObject({ err: 'plain text' });
  });
});

describe('scrubSecrets', () => {
  const pem = [
    '-----BEGIN PRIVATE KEY-----',
    'MIIEvQIBADANBgkqhkiG9w0BAQEFAASC',
    '-----END PRIVATE KEY-----',
  ].join('\n');

  it.each([
    ['redis://:pw@h:6379/0', 'redis://:[redacted]@h:6379/0'],
    ['mongodb://user:p%40ss@h1,h2/db?x=1', 'mongodb://user:[redacted]@h1,h2/db?x=1'],
    ['mongodb://user:p@ss:w@h/db', 'mongodb://user:[redacted]@h/db'],
    ['smtp://relay:secret@smarthost.test:587 said no', 'smtp://relay:[redacted]@smarthost.test:587 said no'],
    ['https://example.test/path?q=a@b', 'https://example.test/path?q=a@b'],
    ['mongodb://user@h/db', 'mongodb://user@h/db'],
    [
      'bad token ser.tok_0123456789abcdef01234567.AbC_-9',
      'bad token ser.tok_0123456789abcdef01234567.[redacted]',
    ],
    ['queue ser.scan.v1 job ser.deliver.v1', 'queue ser.scan.v1 job ser.deliver.v1'],
    [`key: ${pem} end`, 'key: [redacted PRIVATE KEY] end'],
    ['-----BEGIN RSA PRIVATE KEY-----\nMIIE (cut short', '[redacted RSA PRIVATE KEY]'],
    ['authorization: Bearer abcdefghijkl', 'authorization: Bearer [redacted]'],
    ['command AUTH PLAIN AGFwcABodW50ZXIy failed', 'command AUTH PLAIN [redacted] failed'],
    ['nothing secret here: 421 4.7.0 try later', 'nothing secret here: 421 4.7.0 try later'],
  ])('%s', (text, expected) => {
    expect(scrubSecrets(text)).toBe(expected);
  });
});
