import { pino } from 'pino';
import { Writable } from 'node:stream';
import { REDACTED_PATHS } from './logger';

function logged(fields: Record<string, unknown>): string {
  let line = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      line += chunk.toString();
      done();
    },
  });
  pino({ redact: { paths: REDACTED_PATHS, censor: '[redacted]' } }, sink).info(fields, 'x');
  return line;
}

describe('log redaction', () => {
  it.each([
    ['at the top', { privateKeyPem: 'PEM-SECRET' }],
    ['one level down', { key: { privateKeyPem: 'PEM-SECRET' } }],
    ['two levels down, as in a request body', { req: { body: { privateKeyPem: 'PEM-SECRET' } } }],
    ['a password two levels down', { req: { body: { password: 'PEM-SECRET' } } }],
    ['an authorization header', { req: { headers: { authorization: 'Bearer PEM-SECRET' } } }],
  ])('keeps secrets out of the line %s', (_, fields) => {
    const line = logged(fields);
    expect(line).not.toContain('PEM-SECRET');
    expect(line).toContain('[redacted]');
  });
});
