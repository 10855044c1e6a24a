import { metricDeltas, waitFor } from '@ser/testing';
import { connect as connectTls } from 'node:tls';
import type { RawSmtpClient, SmtpReply } from './raw-smtp-client';
import { dataPayload } from './raw-smtp-client';
import { expectCode, SubmissionFixture } from './submission-fixture';
import type { SeededCredential } from './tenant-seed';

/** The reply's code, enhanced status code and text, for one exact comparison. */
const summary = (reply: SmtpReply) => ({ code: reply.code, enhanced: reply.enhanced, text: reply.text });

const BACKLOG_FULL = {
  code: 451,
  enhanced: '4.3.2',
  text: 'System busy: too many messages are waiting to be scanned, try again later',
};
const DATA_FULL = {
  code: 451,
  enhanced: '4.3.2',
  text: 'System busy: too many messages are being received, try again later',
};

const HEADER = 'From: billing@acme.test\r\nTo: someone@dest.test\r\nSubject: Admission\r\n';
const MESSAGE = `${HEADER}\r\nHello.\r\n`;

/** MAIL and RCPT, both expected to be accepted. */
async function envelope(client: RawSmtpClient): Promise<void> {
  expectCode(await client.command('MAIL FROM:<billing@acme.test>'), 250);
  expectCode(await client.command('RCPT TO:<someone@dest.test>'), 250);
}

/** A whole transaction; returns the reply to the final dot. */
async function submit(client: RawSmtpClient): Promise<SmtpReply> {
  await envelope(client);
  expectCode(await client.command('DATA'), 354);
  return client.sendRaw(dataPayload(MESSAGE));
}

/** Opens a transaction and stops in the middle of the message: the server is receiving it. */
async function holdInData(client: RawSmtpClient): Promise<void> {
  await envelope(client);
  // smtp-server calls onData (which takes the slot) before it sends 354.
  expectCode(await client.command('DATA'), 354);
  client.write(HEADER);
}

/**
 * Real ingress, real SMTP over TLS, real Redis and FerretDB (issue 9): overload gets a quick
 * `451 4.3.2` at MAIL FROM instead of an upload that times out, and admission comes back by itself.
 */
describe('ingress admission control: scan backlog', () => {
  let fx: SubmissionFixture;
  let sender: SeededCredential;

  beforeAll(async () => {
    // No scanner runs here: every accepted message's scan job stays waiting.
    fx = await SubmissionFixture.start({ SER_INGRESS_MAX_SCAN_BACKLOG: '2' });
    const tenant = await fx.seed.tenant(['acme.test']);
    sender = await fx.seed.credential(tenant.tenantId, await fx.seed.application(tenant.tenantId));
  });

  afterAll(async () => {
    await fx?.close();
  });

  it('answers 451 4.3.2 at MAIL FROM while more scan jobs than the bound wait, and 250 again within seconds once they are gone', async () => {
    const client = await fx.login(sender);
    for (let i = 0; i < 3; i += 1) {
      expectCode(await submit(client), 250);
    }
    expect(await fx.queues.queue('scan').getWaitingCount()).toBe(3);

    const refused = await metricDeltas(
      { backlog: ['ser_smtp_admission_refusals_total', { reason: 'scan_backlog' }] },
      async () => {
        // The backlog is read at most once a second: the refusal comes within about that.
        const reply = await waitFor(
          async () => {
            const mail = await client.command('MAIL FROM:<billing@acme.test>');
            if (mail.code === 250) {
              expectCode(await client.command('RSET'), 250);
              return undefined;
            }
            return mail;
          },
          { timeoutMs: 5000, intervalMs: 100, description: 'MAIL FROM to be refused' },
        );
        expect(summary(reply)).toEqual(BACKLOG_FULL);
      },
    );
    expect(refused.backlog).toBeGreaterThanOrEqual(1);
    // Refused before the client sent anything more: a second client is refused the same way.
    const other = await fx.login(sender);
    expect(summary(await other.command('MAIL FROM:<billing@acme.test>'))).toEqual(BACKLOG_FULL);

    await fx.queues.queue('scan').drain();
    const drainedAt = Date.now();
    await waitFor(
      async () => {
        const mail = await client.command('MAIL FROM:<billing@acme.test>');
        return mail.code === 250 ? true : undefined;
      },
      { timeoutMs: 5000, intervalMs: 100, description: 'MAIL FROM to be accepted again' },
    );
    expect(Date.now() - drainedAt).toBeLessThan(3000);
    expectCode(await client.command('RCPT TO:<someone@dest.test>'), 250);
    expectCode(await client.command('DATA'), 354);
    expectCode(await client.sendRaw(dataPayload(MESSAGE)), 250);
  });
});

describe('ingress admission control: messages in DATA', () => {
  let fx: SubmissionFixture;
  let sender: SeededCredential;

  beforeAll(async () => {
    fx = await SubmissionFixture.start({ SER_INGRESS_MAX_CONCURRENT_DATA: '1' });
    const tenant = await fx.seed.tenant(['acme.test']);
    sender = await fx.seed.credential(tenant.tenantId, await fx.seed.application(tenant.tenantId));
  });

  afterAll(async () => {
    await fx?.close();
  });

  /** Waits until a new transaction is admitted (the slot is free) and completes it. */
  async function expectAdmittedAgain(): Promise<void> {
    const client = await fx.login(sender);
    await waitFor(
      async () => {
        const mail = await client.command('MAIL FROM:<billing@acme.test>');
        return mail.code === 250 ? true : undefined;
      },
      { timeoutMs: 10_000, intervalMs: 100, description: 'the DATA slot to be free again' },
    );
    expectCode(await client.command('RCPT TO:<someone@dest.test>'), 250);
    expectCode(await client.command('DATA'), 354);
    expectCode(await client.sendRaw(dataPayload(MESSAGE)), 250);
    await client.close();
  }

  it('refuses a second transaction at MAIL FROM while a message is in DATA, and admits it once that one is stored', async () => {
    const first = await fx.login(sender);
    const second = await fx.login(sender);
    await holdInData(first);

    const refused = await metricDeltas(
      { data: ['ser_smtp_admission_refusals_total', { reason: 'concurrent_data' }] },
      async () => {
        expect(summary(await second.command('MAIL FROM:<billing@acme.test>'))).toEqual(DATA_FULL);
      },
    );
    expect(refused.data).toBe(1);

    expectCode(await first.sendRaw(dataPayload('\r\nHello.\r\n')), 250);
    // The slot is released before the 250 is sent: no wait needed.
    expectCode(await submit(second), 250);
  });

  it('refuses at the end of DATA a message whose MAIL FROM came before the slot was taken, and keeps nothing of it', async () => {
    const early = await fx.login(sender);
    const holder = await fx.login(sender);
    await envelope(early);
    await holdInData(holder);
    const refusedBefore = await fx.refusedMessageIds();

    expectCode(await early.command('DATA'), 354);
    expect(summary(await early.sendRaw(dataPayload(MESSAGE)))).toEqual(DATA_FULL);

    expectCode(await holder.sendRaw(dataPayload('\r\nHello.\r\n')), 250);
    const refused = await waitFor(
      async () => {
        const ids = (await fx.refusedMessageIds()).filter((id) => !refusedBefore.includes(id));
        return ids.length > 0 ? ids : undefined;
      },
      { description: 'the message.refused event' },
    );
    expect(refused).toHaveLength(1);
    expect(await fx.trace(refused[0]!)).toEqual({ message: null, recipients: [], bodyStored: false });
    const event = (await fx.events('message.refused')).find((e) => e.id === `${refused[0]!}.refused`);
    expect(event?.data).toMatchObject({ reason: 'concurrent_data', reply: `451 4.3.2 ${DATA_FULL.text}` });
  });

  it('frees the slot when a message is refused at the end of DATA (bare LF)', async () => {
    const client = await fx.login(sender);
    await envelope(client);
    expectCode(await client.command('DATA'), 354);
    expectCode(await client.sendRaw(dataPayload(`${HEADER}\r\nbare\nline\r\n`)), 550);

    await expectAdmittedAgain();
  });

  it('frees the slot when the client disconnects in the middle of DATA', async () => {
    await cutOffMidData(fx.ingress.implicitTlsPort, fx.setup.tls.cert, sender);

    await expectAdmittedAgain();
    // Twice: a leak of one slot per disconnect would already show, with a bound of 1.
    await cutOffMidData(fx.ingress.implicitTlsPort, fx.setup.tls.cert, sender);
    await expectAdmittedAgain();
  });
});

/**
 * An implicit-TLS session that authenticates, starts a message and drops the connection after
 * its header, with no QUIT (RawSmtpClient always ends politely).
 */
async function cutOffMidData(port: number, ca: string, credential: SeededCredential): Promise<void> {
  const socket = connectTls({ host: '127.0.0.1', port, ca });
  const replies: string[] = [];
  let buffer = '';
  socket.on('data', (chunk: Buffer) => {
    buffer += chunk.toString('latin1');
    for (let end = buffer.indexOf('\r\n'); end !== -1; end = buffer.indexOf('\r\n')) {
      const line = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      if (/^\d{3} /.test(line)) {
        replies.push(line);
      }
    }
  });
  const expectReply = async (code: string): Promise<void> => {
    const line = await waitFor(() => replies.shift(), { timeoutMs: 10_000, intervalMs: 10 });
    if (!line.startsWith(code)) {
      throw new Error(`expected ${code}, got: ${line}`);
    }
  };
  const auth = Buffer.from(`\0${credential.username}\0${credential.password}`).toString('base64');
  await expectReply('220');
  for (const [line, code] of [
    ['EHLO client.test', '250'],
    [`AUTH PLAIN ${auth}`, '235'],
    ['MAIL FROM:<billing@acme.test>', '250'],
    ['RCPT TO:<someone@dest.test>', '250'],
    ['DATA', '354'],
  ] as const) {
    socket.write(`${line}\r\n`);
    await expectReply(code);
  }
  socket.write(HEADER);
  socket.destroy();
}
