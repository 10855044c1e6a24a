import { simpleParser } from 'mailparser';
import type { Attachment, ParsedMail } from 'mailparser';
import { buildDsn } from './dsn';
import type { DsnInput } from './dsn';

const ORIGINAL_HEADERS = [
  'From: billing@acme.test',
  'To: a@dest.test, b@dest.test',
  'Subject: Your invoice',
  'Message-ID: <inv-42@acme.test>',
  '',
  '',
].join('\r\n');

function input(overrides: Partial<DsnInput> = {}): DsnInput {
  return {
    reportingHost: 'relay.test',
    originalMailFrom: 'bounces@saas.test',
    originalHeaders: Buffer.from(`${ORIGINAL_HEADERS}secret body text\r\n`),
    originalMessageId: '<inv-42@acme.test>',
    arrivalDate: new Date('2026-11-29T09:00:00Z'),
    recipients: [
      {
        address: 'a@dest.test',
        reply: '550 5.1.1 No such user',
        remoteMta: 'mx.dest.test',
        lastAttemptAt: new Date('2026-11-29T09:01:02Z'),
      },
      {
        address: 'b@dest.test',
        expired: true,
        reply: '451 4.2.1 Mailbox busy',
        lastAttemptAt: new Date('2026-12-04T09:00:00Z'),
      },
    ],
    messageIdLocal: 'dsn1',
    date: new Date('2026-12-04T09:00:05Z'),
    ...overrides,
  };
}

function partOf(mail: ParsedMail, contentType: string): Attachment {
  const found = mail.attachments.find((a) => a.contentType === contentType);
  if (found === undefined) {
    throw new Error(`no ${contentType} part in ${mail.attachments.map((a) => a.contentType).join(', ')}`);
  }
  return found;
}

/**
 * The body parts of the report, split on the boundary mailparser found: mailparser folds
 * message/delivery-status into `text`, and the status part must be checked octet for octet.
 */
async function reportParts(raw: Buffer): Promise<{ contentType: string; body: string }[]> {
  const contentType = (await simpleParser(raw)).headers.get('content-type') as {
    params: { boundary: string };
  };
  const delimiter = `\r\n--${contentType.params.boundary}`;
  const [, ...parts] = raw.toString('utf8').split(delimiter);
  expect(parts.pop()).toBe('--\r\n');
  return parts.map((p) => {
    const end = p.indexOf('\r\n\r\n');
    return {
      contentType: /^Content-Type: ([^;\r]+)/im.exec(p.slice(0, end))?.[1] ?? '',
      body: p.slice(end + 4),
    };
  });
}

/** The per-message block and the per-recipient blocks of the delivery-status part. */
async function statusBlocks(raw: Buffer): Promise<string[]> {
  const status = (await reportParts(raw)).find((p) => p.contentType === 'message/delivery-status');
  return (status?.body ?? '').replace(/\r\n$/, '').split('\r\n\r\n');
}

describe('buildDsn', () => {
  it('is a multipart/report of delivery-status addressed to the envelope sender', async () => {
    const raw = buildDsn(input());
    const mail = await simpleParser(raw);

    expect(mail.headers.get('content-type')).toMatchObject({
      value: 'multipart/report',
      params: { 'report-type': 'delivery-status' },
    });
    expect(mail.from?.value).toEqual([{ name: 'Mail Delivery System', address: 'mailer-daemon@relay.test' }]);
    expect(mail.to).toMatchObject({ value: [{ address: 'bounces@saas.test' }] });
    expect(mail.subject).toBe('Undelivered Mail Returned to Sender');
    expect(mail.messageId).toBe('<dsn1@relay.test>');
    expect(mail.date?.toISOString()).toBe('2026-12-04T09:00:05.000Z');
    expect(mail.headers.get('auto-submitted')).toBe('auto-replied');
    expect(mail.inReplyTo).toBe('<inv-42@acme.test>');
    expect(mail.references).toBe('<inv-42@acme.test>');
    expect((await reportParts(raw)).map((p) => p.contentType)).toEqual([
      'text/plain',
      'message/delivery-status',
      'text/rfc822-headers',
    ]);
    expect(mail.attachments.map((a) => a.contentType)).toEqual(['text/rfc822-headers']);
    expect(mail.text).toContain(
      '<a@dest.test>: delivery failed; host mx.dest.test said: 550 5.1.1 No such user',
    );
    expect(mail.text).toContain('<b@dest.test>: delivery time expired; remote server said: 451 4.2.1');
  });

  it('reports each recipient with its status, remote MTA and diagnostic', async () => {
    const [perMessage, first, second, ...rest] = await statusBlocks(buildDsn(input()));

    expect(perMessage).toBe(
      'Reporting-MTA: dns; relay.test\r\nArrival-Date: Sun, 29 Nov 2026 09:00:00 +0000',
    );
    expect(first?.split('\r\n')).toEqual([
      'Final-Recipient: rfc822; a@dest.test',
      'Action: failed',
      'Status: 5.1.1',
      'Remote-MTA: dns; mx.dest.test',
      'Diagnostic-Code: smtp; 550 5.1.1 No such user',
      'Last-Attempt-Date: Sun, 29 Nov 2026 09:01:02 +0000',
    ]);
    // Expiry is 4.4.7 with Action failed, whatever the last deferral said.
    expect(second?.split('\r\n')).toEqual([
      'Final-Recipient: rfc822; b@dest.test',
      'Action: failed',
      'Status: 4.4.7',
      'Diagnostic-Code: smtp; 451 4.2.1 Mailbox busy',
      'Last-Attempt-Date: Fri, 04 Dec 2026 09:00:00 +0000',
    ]);
    expect(rest).toEqual([]);
  });

  it.each([
    ['550 No such user', '5.0.0'],
    ['421 4.4.2 timed out', '4.4.2'],
    ['451 try later', '4.0.0'],
    ['550 2.0.0 confused server', '5.0.0'],
    [undefined, '5.0.0'],
  ])('derives the status of a bounce with reply %p as %s', async (reply, status) => {
    const [, block] = await statusBlocks(
      buildDsn(
        input({
          recipients: [{ address: 'a@dest.test', reply, lastAttemptAt: new Date() }],
        }),
      ),
    );
    expect(block).toContain(`\r\nStatus: ${status}\r\n`);
    expect(block?.includes('Diagnostic-Code')).toBe(reply !== undefined);
  });

  it('adds the envelope id as xtext when given, and leaves out In-Reply-To when the original had no Message-ID', async () => {
    const raw = buildDsn(input({ originalEnvelopeId: 'q+1=2', originalMessageId: undefined }));
    const [perMessage] = await statusBlocks(raw);
    expect(perMessage).toContain('\r\nOriginal-Envelope-Id: q+2B1+3D2\r\n');
    const mail = await simpleParser(raw);
    expect(mail.inReplyTo).toBeUndefined();
    expect(mail.headers.has('references')).toBe(false);
    const overlong = buildDsn(input({ originalMessageId: `<${'m'.repeat(990)}@acme.test>` }));
    expect((await simpleParser(overlong)).inReplyTo).toBeUndefined();
  });

  it('types a UTF-8 recipient as utf-8 in the 7-bit xtext form of RFC 6533', async () => {
    const raw = buildDsn(input({ recipients: [{ address: 'jörg+x@dest.test', lastAttemptAt: new Date() }] }));
    const [, block] = await statusBlocks(raw);
    expect(block).toMatch(/^Final-Recipient: utf-8; j\\x\{F6\}rg\\x\{2B\}x@dest\.test\r\n/);
    expect((await simpleParser(raw)).text).toContain('<jörg+x@dest.test>: delivery failed');
    expect(raw.toString('utf8')).toMatch(/\r\nContent-Transfer-Encoding: 8bit\r\n\r\nThis is a MIME/);
  });

  it('attaches the original header section but never its body', async () => {
    const raw = buildDsn(input());
    const headers = partOf(await simpleParser(raw), 'text/rfc822-headers').content.toString('utf8');
    expect(headers).toContain('Subject: Your invoice\r\nMessage-ID: <inv-42@acme.test>');
    expect(raw.toString('utf8')).not.toContain('secret body text');
  });

  it('uses CRLF only and keeps every line within 998 octets, folding a long diagnostic', async () => {
    const words = Array.from({ length: 60 }, (_, i) => `word${String(i)}`).join(' ');
    const huge = 'x'.repeat(1500);
    const raw = buildDsn(
      input({
        recipients: [
          {
            address: 'a@dest.test',
            reply: `550 5.7.1 ${words}\r\ninjected: header ${huge}`,
            lastAttemptAt: new Date(),
          },
        ],
        originalHeaders: Buffer.from(`X-Long: ${'y'.repeat(2000)}\nSubject: bare LF\n\nbody`),
      }),
    );
    const text = raw.toString('utf8');

    expect(text.replace(/\r\n/g, '')).not.toMatch(/[\r\n]/);
    expect(Math.max(...text.split('\r\n').map((l) => Buffer.byteLength(l)))).toBeLessThanOrEqual(998);
    const [, block] = await statusBlocks(raw);
    const diagnostic = /Diagnostic-Code: [^]*?(?=\r\nLast-Attempt-Date)/.exec(block ?? '')?.[0] ?? '';
    expect(diagnostic.split('\r\n').length).toBeGreaterThan(3);
    expect(
      diagnostic
        .split('\r\n')
        .slice(1)
        .every((l) => l.startsWith(' ')),
    ).toBe(true);
    // Unfolded, it is the reply with the CRLF flattened and the overlong word cut, never a new field.
    expect(diagnostic.replace(/\r\n /g, ' ')).toMatch(
      /^Diagnostic-Code: smtp; 550 5\.7\.1 word0 .* word59 injected: header x+$/,
    );
    expect(block).not.toMatch(/^injected:/m);
    const headers = partOf(await simpleParser(raw), 'text/rfc822-headers').content.toString('utf8');
    expect(headers).toMatch(/^X-Long: y{990}\r\nSubject: bare LF\r\n$/);
  });

  it('uses a fresh random boundary for each report', () => {
    const boundary = (raw: Buffer) => /boundary="([^"]+)"/.exec(raw.toString('utf8'))?.[1];
    const first = boundary(buildDsn(input()));
    expect(first).toMatch(/^dsn-[\w-]{24}$/);
    expect(boundary(buildDsn(input()))).not.toBe(first);
  });
});
