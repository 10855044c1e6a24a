import { jobIds } from '@ser/contracts';
import { freePort, GTUBE, testMail, waitFor } from '@ser/testing';
import { startScanner } from './scanner-fixture';
import type { ScannerFixture } from './scanner-fixture';

const MZ_HEADER = Buffer.from('TVqQAAMAAAAEAAAA//8AALgAAAAAAAAAQAAAAAAAAAA=', 'base64');

/** Transactional mail the relay exists for: it must pass both engines untouched. */
const CLEAN = {
  receipt: testMail({
    subject: 'Your receipt for order 10234',
    text:
      'Hello Maria,\r\n\r\nthank you for your order 10234 of 27 November.\r\n\r\n' +
      '  1 x Espresso machine        189.00 EUR\r\n  Shipping                       4.90 EUR\r\n' +
      '  Total                        193.90 EUR\r\n\r\nPaid by card ending in 4242.\r\n\r\nAcme Shop\r\n',
  }),
  shipping: testMail({
    subject: 'Your parcel is on its way',
    text:
      'Hello Maria,\r\n\r\nyour order 10234 left our warehouse today. Tracking number: 00340434161094042557.\r\n' +
      'Expected delivery: Tuesday.\r\n\r\nAcme Shop\r\n',
  }),
  passwordReset: testMail({
    subject: 'Reset your password',
    text: 'Hello Maria,\r\n\r\nuse this link to reset your password: https://accounts.acme.test/reset?token=4f9a2c\r\n',
    html:
      '<p>Hello Maria,</p><p>someone asked to reset the password of your account. ' +
      '<a href="https://accounts.acme.test/reset?token=4f9a2c">Reset your password</a>. ' +
      'The link expires in one hour. If it was not you, ignore this mail.</p>',
  }),
};

const IDN_PHISHING = testMail({
  subject: 'Verify your account',
  html: '<p>Please <a href="https://xn--pypal-4ve.com/login">https://paypal.com/login</a> verify your account.</p>',
});

const EXE = testMail({
  subject: 'Invoice',
  text: 'See the attached invoice.',
  attachments: [{ filename: 'invoice.pdf.exe', contentType: 'application/octet-stream', content: MZ_HEADER }],
});

describe('scanner: anti-spam with spamscanner and spamd', () => {
  let scanner: ScannerFixture;
  beforeAll(async () => {
    scanner = await startScanner();
  });
  afterAll(() => scanner.stop());

  it.each(Object.entries(CLEAN))('passes a clean %s through both engines', async (_, body) => {
    const id = await scanner.submit(body);
    const scanned = await scanner.settled(id);
    expect(scanned.state).toBe('scanned');
    expect(scanned.scan).toMatchObject({ decision: 'pass', reasons: [], attachments: [], phishing: [] });
    expect(scanned.scan?.engines.map((e) => [e.engine, e.status])).toEqual([
      ['spamscanner', 'ok'],
      ['spamd', 'ok'],
    ]);
    expect(scanned.scan?.score).toBeLessThan(5);
    expect(scanned.scan?.degraded).toBeUndefined();
    await waitFor(() => scanner.bus.queue('sign').getJob(jobIds.sign(id)), { description: 'sign job' });
    const events = await waitFor(async () => {
      const list = await scanner.events(id);
      return list.length > 0 ? list : undefined;
    });
    expect(events.map((e) => e.type)).toEqual(['message.scanned']);
    expect(events[0]?.data['scan']).toEqual(scanned.scan);
  });

  it('rejects GTUBE, with both engines, their scores and rules in the verdict and the event', async () => {
    const id = await scanner.submit(testMail({ subject: 'cheap', text: `Buy now! ${GTUBE}` }));
    const rejected = await scanner.settled(id);
    expect(rejected).toMatchObject({ state: 'rejected_spam', reason: 'spam' });
    const engines = rejected.scan?.engines ?? [];
    expect(engines.find((e) => e.engine === 'spamscanner')).toMatchObject({
      score: 1000,
      rules: [expect.objectContaining({ name: 'GTUBE' })],
    });
    const spamd = engines.find((e) => e.engine === 'spamd');
    expect(spamd?.score).toBeGreaterThanOrEqual(1000);
    expect(spamd?.rules).toContainEqual({ name: 'GTUBE' });
    expect(rejected.scan?.reasons[0]).toMatch(/^spam score \d+(\.\d+)? >= 10$/);
    expect(await scanner.bus.queue('sign').getJob(jobIds.sign(id))).toBeUndefined();
    const [event] = await waitFor(async () => {
      const list = await scanner.events(id);
      return list.length > 0 ? list : undefined;
    });
    expect(event).toMatchObject({ id: `${id}.rejected_spam`, data: { reason: 'spam', scan: rejected.scan } });
  });

  it('quarantines a phishing link by default, and rejects or ignores it by the tenant policy', async () => {
    const byDefault = await scanner.settled(await scanner.submit(IDN_PHISHING));
    expect(byDefault).toMatchObject({ state: 'quarantined', reason: 'phishing' });
    expect(byDefault.scan?.phishing.join(' ')).toMatch(/IDN homograph/);

    const strict = await scanner.tenant({ phishingAction: 'reject' });
    expect((await scanner.settled(await scanner.submit(IDN_PHISHING, strict))).state).toBe('rejected_spam');
    const lenient = await scanner.tenant({ phishingAction: 'reject' }, { phishingAction: 'ignore' });
    expect((await scanner.settled(await scanner.submit(IDN_PHISHING, lenient))).state).toBe('scanned');
  });

  it('quarantines a link whose text shows another host than it goes to', async () => {
    const body = testMail({
      subject: 'Your statement',
      html: '<p>Your statement is ready: <a href="https://evil.test/s">https://www.mybank.test/statement</a></p>',
    });
    const message = await scanner.settled(await scanner.submit(body));
    expect(message.state).toBe('quarantined');
    expect(message.scan?.phishing).toEqual(['link text shows www.mybank.test but goes to evil.test']);
  });

  it('rejects an .exe attachment by the default policy, and quarantines or allows it per application', async () => {
    const rejected = await scanner.settled(await scanner.submit(EXE));
    expect(rejected).toMatchObject({ state: 'rejected_policy', reason: 'blocked_attachment' });
    expect(rejected.scan?.attachments).toEqual([
      { filename: 'invoice.pdf.exe', contentType: 'application/octet-stream', type: 'exe' },
    ]);

    const quarantine = await scanner.tenant(undefined, { blockedAttachmentAction: 'quarantine' });
    expect((await scanner.settled(await scanner.submit(EXE, quarantine))).state).toBe('quarantined');
    const allowed = await scanner.tenant({ blockedAttachmentTypes: ['js'] });
    expect((await scanner.settled(await scanner.submit(EXE, allowed))).state).toBe('scanned');
  });

  it('finds a blocked attachment inside an attached message', async () => {
    const forwarded = testMail({
      subject: 'Fwd: Invoice',
      text: 'See the forwarded mail.',
      attachments: [{ filename: 'invoice.eml', contentType: 'message/rfc822', content: Buffer.from(EXE) }],
    });
    const rejected = await scanner.settled(await scanner.submit(forwarded));
    expect(rejected.state).toBe('rejected_policy');
    expect(rejected.scan?.attachments).toEqual([
      { filename: 'invoice.pdf.exe', contentType: 'application/octet-stream', type: 'exe' },
    ]);
  });

  it('quarantines and rejects by the tenant score thresholds', async () => {
    const lowBar = await scanner.tenant({ spamQuarantineScore: -100, spamRejectScore: 500 });
    const message = await scanner.settled(await scanner.submit(CLEAN.receipt, lowBar));
    expect(message).toMatchObject({ state: 'quarantined', reason: 'spam' });
    expect(message.scan?.reasons[0]).toMatch(/^spam score -?\d+(\.\d+)? >= -100$/);
  });

  it('does not repeat state changes or events when the scan job is delivered again', async () => {
    const id = await scanner.submit(testMail({ subject: 'cheap', text: GTUBE }));
    const first = await scanner.settled(id);
    await waitFor(async () => ((await scanner.events(id)).length === 1 ? true : undefined));
    const job = await scanner.bus.queue('scan').getJob(jobIds.scan(id));
    await job?.remove();
    await scanner.bus.enqueue('scan', { v: 1, messageId: id }, jobIds.scan(id));
    await waitFor(
      async () => ((await scanner.bus.queue('scan').getJob(jobIds.scan(id)))?.finishedOn ? true : undefined),
      {
        description: 'redelivered job done',
      },
    );
    const again = await scanner.messages.findById(id);
    expect(again?.updatedAt).toEqual(first.updatedAt);
    expect((await scanner.events(id)).map((e) => e.id)).toEqual([`${id}.rejected_spam`]);
  });
});

describe('scanner: spamd unavailable', () => {
  let scanner: ScannerFixture;
  beforeAll(async () => {
    scanner = await startScanner({ SER_SPAMD_PORT: String(await freePort()) });
  });
  afterAll(() => scanner.stop());

  it('goes on with spamscanner alone by default and records that spamd was missing', async () => {
    const id = await scanner.submit(CLEAN.receipt);
    const scanned = await scanner.settled(id);
    expect(scanned.state).toBe('scanned');
    expect(scanned.scan?.engines.map((e) => [e.engine, e.status])).toEqual([
      ['spamscanner', 'ok'],
      ['spamd', 'unavailable'],
    ]);
    expect(scanned.scan?.engines[1]?.detail).toMatch(/ECONNREFUSED/);
    expect(scanned.scan?.degraded).toEqual([expect.stringMatching(/^spamd: /)]);
    // spamscanner alone still stops spam
    expect((await scanner.settled(await scanner.submit(testMail({ subject: 'x', text: GTUBE })))).state).toBe(
      'rejected_spam',
    );
  });

  it('holds the message when the policy requires spamd', async () => {
    const strict = await scanner.tenant({ spamdUnavailable: 'hold' });
    const held = await scanner.settled(await scanner.submit(CLEAN.receipt, { ...strict, attempts: 2 }));
    expect(held).toMatchObject({ state: 'held', reason: 'as_unavailable' });
  });
});

describe('scanner: engines switched off and size limit', () => {
  let scanner: ScannerFixture;
  beforeAll(async () => {
    scanner = await startScanner({
      SER_SPAMSCANNER_ENABLED: 'false',
      SER_SPAMD_HOST: undefined,
      SER_SPAM_MAX_BYTES: '4096',
    });
  });
  afterAll(() => scanner.stop());

  it('runs no anti-spam engine when both are off, and still applies the attachment policy', async () => {
    const clean = await scanner.settled(await scanner.submit(testMail({ subject: 'x', text: GTUBE })));
    expect(clean).toMatchObject({ state: 'scanned', scan: { engines: [], score: 0 } });
    expect((await scanner.settled(await scanner.submit(EXE))).state).toBe('rejected_policy');
  });

  it('applies the attachment policy to a message too large for the anti-spam engines', async () => {
    const big = testMail({
      subject: 'Invoice',
      text: 'x'.repeat(8000),
      attachments: [{ filename: 'tool.js', contentType: 'text/plain', content: Buffer.from('alert(1)') }],
    });
    expect((await scanner.settled(await scanner.submit(big))).state).toBe('rejected_policy');
  });
});
