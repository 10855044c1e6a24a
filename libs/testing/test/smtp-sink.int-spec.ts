import nodemailer from 'nodemailer';
import type SMTPTransport from 'nodemailer/lib/smtp-transport';
import { generateSelfSignedCert, startSmtpSink, type SelfSignedCert, type SmtpSink } from '../src';

function transportTo(
  sink: SmtpSink,
  options: SMTPTransport.Options = {},
): nodemailer.Transporter<SMTPTransport.SentMessageInfo> {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port: sink.port,
    secure: false,
    ignoreTLS: true,
    connectionTimeout: 5000,
    ...options,
  });
}

describe('startSmtpSink (plain)', () => {
  let sink: SmtpSink;

  beforeAll(async () => {
    sink = await startSmtpSink();
  });

  afterAll(() => sink.close());

  beforeEach(() => {
    sink.clear();
    sink.setReply(undefined);
    sink.setDataReply(undefined);
  });

  it('records the envelope and the raw message (dot-unstuffed)', async () => {
    await transportTo(sink).sendMail({
      envelope: { from: 'bounce@relay.test', to: ['rcpt1@dest.test', 'rcpt2@dest.test'] },
      from: 'Alice <alice@relay.test>',
      to: 'rcpt1@dest.test',
      subject: 'plain delivery',
      text: 'line one\r\n.leading dot survives\r\n',
    });
    const [message, ...rest] = await sink.waitForMessages(1);
    expect(rest).toEqual([]);
    expect(message?.envelope).toEqual({
      mailFrom: 'bounce@relay.test',
      rcptTo: ['rcpt1@dest.test', 'rcpt2@dest.test'],
    });
    expect(message?.tls).toBe(false);
    expect(message?.receivedAt).toBeInstanceOf(Date);
    const raw = message?.raw.toString('utf8') ?? '';
    expect(raw).toMatch(/^Subject: plain delivery\r$/m);
    expect(raw).toContain('\r\n.leading dot survives\r\n');
  });

  it('records the null reverse-path of a bounce as an empty sender', async () => {
    await transportTo(sink).sendMail({
      envelope: { from: '', to: ['user@dest.test'] },
      subject: 'dsn',
      text: 'x',
    });
    const [message] = await sink.waitForMessages(1);
    expect(message?.envelope.mailFrom).toBe('');
  });

  it('does not offer STARTTLS without a certificate', async () => {
    const send = transportTo(sink, { ignoreTLS: false, requireTLS: true }).sendMail({
      from: 'a@relay.test',
      to: 'b@dest.test',
      text: 'x',
    });
    await expect(send).rejects.toThrow(/STARTTLS/i);
    expect(sink.messages).toEqual([]);
  });

  it('rejects a scripted 550 recipient while accepting the other', async () => {
    sink.setReply((rcpt) =>
      rcpt.startsWith('nobody@') ? { code: 550, message: 'No such user' } : undefined,
    );
    const info = await transportTo(sink).sendMail({
      from: 'a@relay.test',
      to: ['nobody@dest.test', 'somebody@dest.test'],
      subject: 'partial',
      text: 'x',
    });
    expect(info.accepted).toEqual(['somebody@dest.test']);
    expect(info.rejected).toEqual(['nobody@dest.test']);
    expect((info as { rejectedErrors?: { responseCode?: number }[] }).rejectedErrors?.[0]?.responseCode).toBe(
      550,
    );
    const [message] = await sink.waitForMessages(1);
    expect(message?.envelope.rcptTo).toEqual(['somebody@dest.test']);
    expect(sink.rejections).toEqual([
      expect.objectContaining({
        stage: 'RCPT',
        rcptTo: ['nobody@dest.test'],
        code: 550,
        message: 'No such user',
      }),
    ]);
  });

  it('answers a scripted 450 so the sender can retry, then accepts once the script changes', async () => {
    sink.setReply(() => ({ code: 450, message: 'Mailbox busy, try later' }));
    const mail = { from: 'a@relay.test', to: 'later@dest.test', subject: 'retry', text: 'x' };
    await expect(transportTo(sink).sendMail(mail)).rejects.toMatchObject({ responseCode: 450 });
    expect(sink.messages).toEqual([]);
    sink.setReply(undefined);
    await transportTo(sink).sendMail(mail);
    await expect(sink.waitForMessages(1)).resolves.toHaveLength(1);
    expect(sink.rejections.map((r) => r.code)).toEqual([450]);
  });

  it('can reject after DATA and does not record the message', async () => {
    sink.setDataReply((message) =>
      message.raw.includes('X-Spam: yes') ? { code: 554, message: 'Content rejected' } : undefined,
    );
    const send = transportTo(sink).sendMail({
      from: 'a@relay.test',
      to: 'b@dest.test',
      headers: { 'X-Spam': 'yes' },
      text: 'x',
    });
    await expect(send).rejects.toMatchObject({ responseCode: 554 });
    expect(sink.messages).toEqual([]);
    expect(sink.rejections).toEqual([expect.objectContaining({ stage: 'DATA', rcptTo: ['b@dest.test'] })]);
  });

  it('waitForMessages times out with a list of what arrived', async () => {
    await transportTo(sink).sendMail({
      from: 'a@relay.test',
      to: 'b@dest.test',
      subject: 'only one',
      text: 'x',
    });
    await expect(sink.waitForMessages(2, 300)).rejects.toThrow(
      /2 message\(s\)[\s\S]*received 1:[\s\S]*from <a@relay.test> to <b@dest.test>.*subject="only one"/,
    );
  });
});

describe('startSmtpSink (size limit)', () => {
  it('rejects a message over maxMessageBytes with 552', async () => {
    const sink = await startSmtpSink({ maxMessageBytes: 2000 });
    try {
      const send = transportTo(sink).sendMail({
        from: 'a@relay.test',
        to: 'b@dest.test',
        text: 'z'.repeat(5000),
      });
      await expect(send).rejects.toMatchObject({ responseCode: 552 });
      expect(sink.messages).toEqual([]);
    } finally {
      await sink.close();
    }
  });
});

describe('startSmtpSink (STARTTLS)', () => {
  let cert: SelfSignedCert;
  let sink: SmtpSink;

  beforeAll(async () => {
    cert = generateSelfSignedCert();
    sink = await startSmtpSink({ tls: cert });
  });

  afterAll(() => sink.close());

  it('upgrades with STARTTLS, verified against the self-signed cert, and flags the message as tls', async () => {
    await transportTo(sink, { ignoreTLS: false, requireTLS: true, tls: { ca: [cert.cert] } }).sendMail({
      from: 'a@relay.test',
      to: 'secure@dest.test',
      subject: 'over tls',
      text: 'x',
    });
    const [message] = await sink.waitForMessages(1);
    expect(message?.tls).toBe(true);
    expect(message?.envelope.rcptTo).toEqual(['secure@dest.test']);
  });

  it('is not trusted by a verifying client without the cert as CA', async () => {
    const send = transportTo(sink, { ignoreTLS: false, requireTLS: true }).sendMail({
      from: 'a@relay.test',
      to: 'secure@dest.test',
      text: 'x',
    });
    await expect(send).rejects.toThrow(/self[- ]signed/i);
    expect(sink.messages).toHaveLength(1);
  });

  it('still accepts plain text from clients that do not upgrade', async () => {
    await transportTo(sink).sendMail({ from: 'a@relay.test', to: 'plain@dest.test', text: 'x' });
    const messages = await sink.waitForMessages(2);
    expect(messages[1]?.tls).toBe(false);
  });
});
