import { loadConfig } from '@ser/config';
import { freePort } from '@ser/testing';
import { Readable } from 'node:stream';
import { SpamdClient, SpamdUnavailableError } from '../src/spam/spamd-client';

// SpamAssassin's Generic Test for Unsolicited Bulk Email: every spamd scores it as spam.
const GTUBE = 'XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE-STANDARD-ANTI-UBE-TEST-EMAIL*C.34X';

function mail(body: string): Buffer {
  return Buffer.from(
    'From: shop@acme.test\r\nTo: customer@dest.test\r\nSubject: Your receipt\r\n' +
      'Date: Sat, 28 Nov 2026 10:00:00 +0000\r\nMessage-ID: <r1@acme.test>\r\n\r\n' +
      `${body}\r\n`,
  );
}

/** The real spamd the bootstrap starts (SER_SPAMD_HOST/PORT), network tests off. */
describe('SpamdClient against spamd', () => {
  const config = loadConfig();
  const client = new SpamdClient({
    host: config.SER_SPAMD_HOST ?? '127.0.0.1',
    port: config.SER_SPAMD_PORT,
    timeoutMs: 30_000,
  });

  beforeAll(() => {
    if (config.SER_SPAMD_HOST === undefined) {
      throw new Error('SER_SPAMD_HOST is not set: run the tests through scripts/bootstrap.sh');
    }
  });

  it('scores GTUBE as spam and names the rule', async () => {
    const body = mail(`Buy now.\r\n${GTUBE}`);
    const verdict = await client.check(Readable.from([body]), body.length);
    expect(verdict.spam).toBe(true);
    expect(verdict.score).toBeGreaterThanOrEqual(verdict.threshold);
    expect(verdict.rules).toContain('GTUBE');
  });

  it('lets a transactional receipt pass', async () => {
    const body = mail('Thank you for your order 1042.\r\nTotal: 23.50 EUR\r\nKind regards, Acme');
    const verdict = await client.check(Readable.from([body]), body.length);
    expect(verdict.spam).toBe(false);
    expect(verdict.rules).not.toContain('GTUBE');
    expect(verdict.score).toBeLessThan(verdict.threshold);
  });

  it('reports an unreachable spamd as unavailable', async () => {
    const down = new SpamdClient({ host: '127.0.0.1', port: await freePort(), timeoutMs: 2000 });
    const body = mail('hello');
    await expect(down.check(Readable.from([body]), body.length)).rejects.toBeInstanceOf(
      SpamdUnavailableError,
    );
  });
});
