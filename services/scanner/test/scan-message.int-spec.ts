import { jobIds } from '@ser/contracts';
import { EICAR, freePort, zipArchive, testMail, waitFor } from '@ser/testing';
import type { TestAttachment } from '@ser/testing';
import { startScanner } from './scanner-fixture';
import type { ScannerFixture } from './scanner-fixture';

/** Anti-virus: the scanner against the real clamd with the project's test signatures. */
describe('scanner: anti-virus', () => {
  let scanner: ScannerFixture;
  beforeAll(async () => {
    scanner = await startScanner();
  });
  afterAll(() => scanner.stop());

  it('passes a clean message on to signing', async () => {
    const id = await scanner.submit(
      testMail({ subject: 'Your receipt', text: 'Total: 42.00 EUR. Thank you.' }),
    );
    expect(await scanner.settled(id)).toMatchObject({
      state: 'scanned',
      av: { engine: 'clamav', result: 'clean' },
    });
    await waitFor(() => scanner.bus.queue('sign').getJob(jobIds.sign(id)), { description: 'sign job' });
  });

  const eicarAttachments: [string, TestAttachment][] = [
    [
      'as a base64 attachment',
      { filename: 'eicar.com', contentType: 'text/plain', content: Buffer.from(EICAR) },
    ],
    [
      'inside a zip attachment',
      {
        filename: 'invoice.zip',
        contentType: 'application/zip',
        content: zipArchive([{ name: 'invoice.com', content: Buffer.from(EICAR) }]),
      },
    ],
  ];

  it.each(eicarAttachments)(
    'rejects EICAR %s with its signature name, and never signs it',
    async (_, attachment) => {
      const id = await scanner.submit(
        testMail({
          subject: 'invoice',
          text: 'Please find the invoice attached.',
          attachments: [attachment],
        }),
      );
      if (attachment.contentType === 'application/zip') {
        expect(attachment.content.includes(EICAR)).toBe(false); // found by unpacking, not by chance
      }
      const rejected = await scanner.settled(id);
      expect(rejected.state).toBe('rejected_av');
      expect(rejected.av?.signature).toMatch(/^Eicar-Test-Signature/);
      expect(rejected.reason).toBe(`virus: ${rejected.av?.signature ?? ''}`);
      expect(await scanner.bus.queue('sign').getJob(jobIds.sign(id))).toBeUndefined();
      const events = await waitFor(async () => {
        const list = await scanner.events(id);
        return list.length > 0 ? list : undefined;
      });
      expect(events).toEqual([
        expect.objectContaining({ id: `${id}.rejected_av`, type: 'message.rejected_av' }),
      ]);
    },
  );

  it("finds the project's own test signature", async () => {
    const id = await scanner.submit(testMail({ subject: 'x', text: 'SER-TEST-MALWARE-SIGNATURE-7f3a9c' }));
    expect((await scanner.settled(id)).av?.signature).toMatch(/^SER\.Test\.Signature/);
  });
});

describe('scanner: clamd unavailable', () => {
  let scanner: ScannerFixture;
  beforeAll(async () => {
    scanner = await startScanner({ SER_CLAMD_PORT: String(await freePort()), SER_CLAMD_TIMEOUT_MS: '2000' });
  });
  afterAll(() => scanner.stop());

  it('retries, then holds the message, and never passes it on unscanned', async () => {
    const id = await scanner.submit(testMail({ subject: 'hello', text: 'Just text.' }), { attempts: 2 });
    const held = await scanner.settled(id);
    expect(held).toMatchObject({ state: 'held', reason: 'av_unavailable' });
    expect(held.av).toBeUndefined();
    expect(held.scan).toBeUndefined();
    expect(await scanner.bus.queue('sign').getJob(jobIds.sign(id))).toBeUndefined();
    // The last attempt holds the message and then completes: wait for the job to finish.
    const job = await waitFor(async () => {
      const j = await scanner.bus.queue('scan').getJob(jobIds.scan(id));
      return j?.finishedOn === undefined ? undefined : j;
    });
    expect(job.attemptsMade).toBe(2);
    expect((await scanner.events(id)).map((e) => e.type)).toEqual(['message.held']);
  });
});
