import type { SelfSignedCert } from '@ser/testing';
import { generateSelfSignedCert, waitFor } from '@ser/testing';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect as connectTls } from 'node:tls';
import type { ConnectionOptions } from 'node:tls';
import { dataPayload, RawSmtpClient } from './raw-smtp-client';
import type { SmtpReply } from './raw-smtp-client';
import { expectCode, SubmissionFixture } from './submission-fixture';
import type { SeededCredential, SeededTenant } from './tenant-seed';

/** The reply's code, enhanced status code and text, for one exact comparison. */
const summary = (reply: SmtpReply) => ({ code: reply.code, enhanced: reply.enhanced, text: reply.text });

const HEADERS = 'From: billing@acme.test\r\nTo: someone@dest.test\r\nSubject: Hygiene\r\n\r\n';
/** What a client would send after `<LF>.<CR><LF>` hoping the server took that for the final dot. */
const SMUGGLED =
  'MAIL FROM:<evil@acme.test>\r\nRCPT TO:<victim@dest.test>\r\nDATA\r\nFrom: evil@acme.test\r\n\r\nsmuggled\r\n';
/** The relay's Received field with its continuation lines (RFC 5322 §2.2.3). */
const RECEIVED = /^Received: [^\r\n]*(?:\r\n\t[^\r\n]*)*\r\n/;
const RFC5322_DATE =
  /^Date: (?:Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d \+0000$/;

const bareLineEnding = (what: 'LF' | 'CR') => ({
  code: 550,
  enhanced: '5.5.2',
  text: `Bare <${what}> received: lines must end with <CR><LF> (RFC 5321 section 2.3.8)`,
});

const fingerprint = (pem: string): string => new X509Certificate(pem).fingerprint256;

/**
 * Protocol hygiene of the submission front door: SMTP smuggling, line limits, STARTTLS injection,
 * header hygiene, enhanced status codes, TLS versions and reload, connection and session limits.
 * Real ingress module, real Redis and FerretDB.
 */
describe('ingress protocol hygiene', () => {
  let fx: SubmissionFixture;
  let acme: SeededTenant;
  let appId: string;
  let sender: SeededCredential;

  beforeAll(async () => {
    fx = await SubmissionFixture.start({ SER_INGRESS_MAX_MESSAGE_BYTES: '100000' });
    acme = await fx.seed.tenant(['acme.test']);
    appId = await fx.seed.application(acme.tenantId);
    sender = await fx.seed.credential(acme.tenantId, appId);
  });

  afterAll(async () => {
    await fx?.close();
  });

  /** MAIL and RCPT accepted, DATA answered with 354: the client may send the content. */
  async function startData(client: RawSmtpClient): Promise<void> {
    expectCode(await client.command('MAIL FROM:<b@acme.test>'), 250);
    expectCode(await client.command('RCPT TO:<x@dest.test>'), 250);
    expectCode(await client.command('DATA'), 354);
  }

  function queuedId(reply: SmtpReply): string {
    const messageId = /^Ok: queued as ([0-9a-z]{26})$/.exec(reply.text)?.[1];
    if (reply.code !== 250 || messageId === undefined) {
      throw new Error(`expected 250 Ok: queued as <id>, got: ${reply.lines.join(' / ')}`);
    }
    return messageId;
  }

  /** Exactly one message was refused since `before`, for `reason`, and left nothing behind. */
  async function expectRefusedAndNothingStored(before: string[], reason: string): Promise<void> {
    const refused = await waitFor(async () => {
      const events = (await fx.events('message.refused')).filter(
        (e) => !before.includes(e.id.replace(/\.refused$/, '')),
      );
      return events.length > 0 ? events : undefined;
    });
    expect(refused.map((e) => e.data['reason'])).toEqual([reason]);
    const messageId = refused[0]?.id.replace(/\.refused$/, '') ?? '';
    expect(await fx.trace(messageId)).toEqual({ message: null, recipients: [], bodyStored: false });
    expect(await fx.orphanChunks()).toBe(0);
  }

  // Postfix smtpd_forbid_bare_newline: only <CR><LF>.<CR><LF> ends DATA, and a message with a bare
  // <LF> or <CR> is refused, so a receiver that reads the line ends differently cannot be fooled.
  it.each([
    ['<LF>.<CR><LF> followed by commands', `Hello\n.\r\n${SMUGGLED}`, 'LF'],
    ['<CR><LF>.<LF> followed by commands', `Hello\r\n.\n${SMUGGLED}`, 'LF'],
    ['a bare <CR> mid-line: <CR>.<CR><LF> followed by commands', `Hello\r.\r\n${SMUGGLED}`, 'CR'],
    ['a plain bare <LF> line ending', 'Line one\nLine two\r\n', 'LF'],
  ] as const)('refuses %s with one 550 5.5.2 and runs nothing smuggled', async (_name, content, what) => {
    const client = await fx.login(sender);
    const before = await fx.refusedMessageIds();
    await startData(client);

    // Raw bytes: the content ends with <CR><LF>, so `.<CR><LF>` is the real end of DATA.
    const reply = await client.sendRaw(Buffer.from(`${HEADERS}${content}.\r\n`, 'latin1'));

    expect(summary(reply)).toEqual(bareLineEnding(what));
    // In step, with no reply queued for a smuggled MAIL, RCPT or DATA.
    expect((await client.command('NOOP')).lines).toEqual(['250 2.0.0 OK']);
    expect((await client.command('RSET')).lines).toEqual(['250 2.0.0 Flushed']);
    await expectRefusedAndNothingStored(before, what === 'LF' ? 'bare_lf' : 'bare_cr');
    expect(await fx.messages.messages.countDocuments({ 'envelope.rcptTo': 'victim@dest.test' })).toBe(0);
  });

  it('refuses a line of 999 octets with 550 5.5.2 and accepts one of exactly 998', async () => {
    const client = await fx.login(sender);
    const before = await fx.refusedMessageIds();
    await startData(client);
    expect(summary(await client.sendRaw(dataPayload(`${HEADERS}${'a'.repeat(999)}\r\n`)))).toEqual({
      code: 550,
      enhanced: '5.5.2',
      text: 'A line is longer than 998 characters (RFC 5322 section 2.1.1)',
    });
    await expectRefusedAndNothingStored(before, 'line_too_long');

    await startData(client);
    const longest = `${'b'.repeat(998)}\r\n`;
    const accepted = await client.sendRaw(dataPayload(`${HEADERS}${longest}`));
    const messageId = queuedId(accepted);
    expect(accepted.enhanced).toBe('2.0.0');
    expect((await fx.store.read(messageId)).toString('latin1').endsWith(`\r\n\r\n${longest}`)).toBe(true);
  });

  // CVE-2011-0411: commands sent in clear text behind STARTTLS must not run inside the TLS session.
  it('discards commands pipelined in clear text behind STARTTLS', async () => {
    const client = await fx.open({ plain: true });

    expect((await client.startTls('NOOP\r\nQUIT\r\n')).lines).toEqual(['220 2.0.0 Ready to start TLS']);

    expect(client.encrypted).toBe(true);
    const ehlo = await client.command('EHLO client.test');
    expect(ehlo.lines[0]).toMatch(/^250-relay\.test /);
    expect(ehlo.lines).toContain('250-AUTH PLAIN LOGIN');
    expect(summary(await client.authPlain(sender.username, sender.password))).toEqual({
      code: 235,
      enhanced: '2.7.0',
      text: 'Authentication successful',
    });
    expect((await client.command('NOOP')).lines).toEqual(['250 2.0.0 OK']);
  });

  it('adds Received, Message-ID and Date and strips forged X-SER- fields, body untouched', async () => {
    const body = 'Body line 1\r\n.a line with a leading dot\r\n\r\nX-SER-Verdict: not a header here\r\n';
    const original =
      'From: billing@acme.test\r\nTo: someone@dest.test\r\nX-SER-Verdict: clean\r\n' +
      `Subject: Hygiene\r\nX-Ser-Spam: yes\r\n\tcontinued\r\n\r\n${body}`;
    const client = await fx.login(sender);
    await startData(client);
    const messageId = queuedId(await client.sendRaw(dataPayload(original)));

    const stored = (await fx.store.read(messageId)).toString('latin1');
    const received = RECEIVED.exec(stored)?.[0] ?? '';
    const trace = received.replace(/\r\n\t/g, ' ');
    expect(trace).toMatch(/^Received: from client\.test \(\[127\.0\.0\.1\]\) by relay\.test /);
    expect(trace).toContain(' with ESMTPSA (TLSv1.3 ');
    expect(trace).toContain(`(authenticated application ${appId})`);
    expect(trace).toContain(` id ${messageId}; `);
    const [head = '', ...rest] = stored.slice(received.length).split('\r\n\r\n');
    expect(head.split('\r\n')).toEqual([
      'From: billing@acme.test',
      'To: someone@dest.test',
      'Subject: Hygiene',
      `Message-ID: <${messageId}@relay.test>`,
      expect.stringMatching(RFC5322_DATE),
    ]);
    expect(rest.join('\r\n\r\n')).toBe(body);

    // A message with its own Message-ID and Date keeps them, and gets no second one.
    const own =
      'From: billing@acme.test\r\nMessage-ID: <own.1@acme.test>\r\nDate: Tue, 01 Jul 2025 10:00:00 +0000\r\n' +
      'To: someone@dest.test\r\nSubject: Own\r\n\r\nHello.\r\n';
    await startData(client);
    const ownId = queuedId(await client.sendRaw(dataPayload(own)));
    expect((await fx.store.read(ownId)).toString('latin1').replace(RECEIVED, '')).toBe(own);
  });

  it('gives the library replies enhanced codes and offers AUTH only inside TLS', async () => {
    const client = await fx.open({ plain: true });
    const features = (reply: SmtpReply) => reply.lines.slice(1).map((line) => line.slice(4));

    const clear = features(await client.command('EHLO client.test'));
    expect(clear).toEqual(expect.arrayContaining(['STARTTLS', 'ENHANCEDSTATUSCODES']));
    expect(clear.filter((f) => /^AUTH\b/i.test(f))).toEqual([]);
    expect(summary(await client.command('FOO bar'))).toEqual({
      code: 500,
      enhanced: '5.5.2',
      text: 'Error: command not recognized',
    });

    await client.startTls();
    const secure = features(await client.command('EHLO client.test'));
    expect(secure).toEqual(expect.arrayContaining(['AUTH PLAIN LOGIN', 'ENHANCEDSTATUSCODES']));
    expect(secure).not.toContain('STARTTLS');
    expectCode(await client.authPlain(sender.username, sender.password), 235);
    expect(summary(await client.command('DATA'))).toEqual({
      code: 503,
      enhanced: '5.5.1',
      text: 'Error: need RCPT command',
    });
  });

  it('refuses TLS 1.1 on the implicit-TLS port and accepts TLS 1.2', async () => {
    const port = fx.ingress.implicitTlsPort;
    // SECLEVEL=0 lets this client offer TLS 1.1 at all, so that it is the server that refuses it.
    const legacy = { minVersion: 'TLSv1', maxVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' } as const;
    await expect(greetOverTls(port, legacy)).rejects.toMatchObject({
      code: 'ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION',
    });
    expect(await greetOverTls(port, { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.2' })).toEqual({
      protocol: 'TLSv1.2',
      greeting: '220 relay.test ESMTP Secure Email Relay',
    });
  });

  /** Completes a TLS handshake with the given client limits and reads the greeting. */
  function greetOverTls(
    port: number,
    options: Pick<ConnectionOptions, 'minVersion' | 'maxVersion' | 'ciphers'>,
  ): Promise<{ protocol: string | null; greeting: string }> {
    return new Promise((resolve, reject) => {
      const socket = connectTls({ host: '127.0.0.1', port, ca: fx.setup.tls.cert, ...options });
      socket.once('error', reject);
      socket.once('close', () => reject(new Error('closed before the greeting')));
      socket.once('data', (chunk: Buffer) => {
        resolve({ protocol: socket.getProtocol(), greeting: chunk.toString('latin1').trimEnd() });
        socket.destroy();
      });
    });
  }

  it('loads a replaced certificate for new connections and keeps the current one on a bad pair', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ser-reload-'));
    const certFile = join(dir, 'cert.pem');
    const keyFile = join(dir, 'key.pem');
    const write = (pair: Partial<SelfSignedCert>): void => {
      if (pair.cert !== undefined) {
        writeFileSync(certFile, pair.cert);
      }
      if (pair.key !== undefined) {
        writeFileSync(keyFile, pair.key);
      }
    };
    const [first, second, third] = ['reload-a', 'reload-b', 'reload-c'].map((commonName) =>
      generateSelfSignedCert({ commonName }),
    ) as [SelfSignedCert, SelfSignedCert, SelfSignedCert];
    const ca = first.cert + second.cert + third.cert;
    try {
      write(first);
      const other = await fx.startAnother({
        SER_TLS_CERT_FILE: certFile,
        SER_TLS_KEY_FILE: keyFile,
        SER_TLS_RELOAD_INTERVAL_MS: 200,
      });
      /** The certificates a new connection gets, on the implicit-TLS and the STARTTLS port. */
      const presented = async (): Promise<string[]> => {
        const seen: string[] = [];
        for (const implicitTls of [true, false]) {
          const port = implicitTls ? other.implicitTlsPort : other.starttlsPort;
          const { client } = await RawSmtpClient.connect({ port, implicitTls, ca });
          if (!implicitTls) {
            await client.startTls();
          }
          seen.push(client.peerFingerprint ?? 'none');
          await client.close();
        }
        return seen;
      };
      const open = await RawSmtpClient.connect({ port: other.implicitTlsPort, implicitTls: true, ca });
      expect(await presented()).toEqual([fingerprint(first.cert), fingerprint(first.cert)]);

      write(second);
      const rotated = [fingerprint(second.cert), fingerprint(second.cert)];
      await waitFor(async () => JSON.stringify(await presented()) === JSON.stringify(rotated), {
        description: 'the replaced certificate on new connections',
      });
      // The session opened before the reload goes on with its certificate.
      expect(open.client.peerFingerprint).toBe(fingerprint(first.cert));
      expectCode(await open.client.command('NOOP'), 250);
      await open.client.close();

      // A certificate that does not match the key, then a half-written one: neither is loaded.
      for (const bad of [{ cert: third.cert }, { cert: third.cert.slice(0, 200) }]) {
        write(bad);
        await sleep(5 * 200);
        expect(await presented()).toEqual(rotated);
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a third connection from one address with 421 4.7.0 and admits one after a close', async () => {
    const other = await fx.startAnother({ SER_INGRESS_MAX_CONNECTIONS_PER_IP: 2 });
    const connect = () => RawSmtpClient.connect({ port: other.starttlsPort, ca: fx.setup.tls.cert });
    const first = await connect();
    const second = await connect();
    expect([first.greeting.code, second.greeting.code]).toEqual([220, 220]);

    const third = await connect();
    expect(summary(third.greeting)).toEqual({
      code: 421,
      enhanced: '4.7.0',
      text: 'Too many connections from this address, try again later',
    });
    await third.client.whenClosed();

    await first.client.close();
    const fourth = await waitFor(async () => {
      const attempt = await connect();
      if (attempt.greeting.code === 220) {
        return attempt;
      }
      await attempt.client.whenClosed();
      return undefined;
    });
    expect(fourth.greeting.lines).toEqual(['220 relay.test ESMTP Secure Email Relay']);
    await Promise.all([second.client.close(), fourth.client.close()]);

    const refused = await waitFor(async () => {
      const events = await fx.events('session.refused');
      return events.length > 0 ? events : undefined;
    });
    expect(refused[0]?.data).toEqual({
      clientIp: '127.0.0.1',
      reason: 'ip_connections',
      reply: '421 4.7.0 Too many connections from this address, try again later',
    });
  });

  it('closes a busy session at the session time limit with 421 4.4.2', async () => {
    // Long enough for STARTTLS and a scrypt AUTH on a loaded CI machine, short enough for a test.
    const other = await fx.startAnother({ SER_INGRESS_SESSION_TIMEOUT_MS: 5000 });
    const client = await fx.login(sender, { port: other.starttlsPort });

    // NOOP every 300 ms keeps the idle timeout from firing; the session limit still does.
    let reply = await client.command('NOOP');
    for (let i = 0; i < 40 && reply.code === 250; i += 1) {
      await sleep(300);
      reply = await client.command('NOOP');
    }

    expect(summary(reply)).toEqual({
      code: 421,
      enhanced: '4.4.2',
      text: 'Session time limit reached, closing connection',
    });
    await client.whenClosed();
  });

  it('closes a silent session at the idle timeout with 421 4.4.2', async () => {
    const other = await fx.startAnother({ SER_INGRESS_IDLE_TIMEOUT_MS: 800 });
    const client = await fx.open({ port: other.starttlsPort });

    expect(summary(await client.read())).toEqual({
      code: 421,
      enhanced: '4.4.2',
      text: 'Idle timeout, closing connection',
    });
    await client.whenClosed();
  });

  it('refuses IP-literal addresses with 553 5.1.3 and the null sender with 550 5.7.1', async () => {
    const literalApp = await fx.seed.application(acme.tenantId);
    const client = await fx.login(await fx.seed.credential(acme.tenantId, literalApp));

    expect(summary(await client.command('MAIL FROM:<>'))).toEqual({
      code: 550,
      enhanced: '5.7.1',
      text: 'A null sender <> is not accepted for submission',
    });
    expect(summary(await client.command('MAIL FROM:<u@[127.0.0.1]>'))).toEqual({
      code: 553,
      enhanced: '5.1.3',
      text: 'The sender is not a valid address',
    });
    expectCode(await client.command('MAIL FROM:<b@acme.test>'), 250);
    expect(summary(await client.command('RCPT TO:<u@[127.0.0.1]>'))).toEqual({
      code: 553,
      enhanced: '5.1.3',
      text: 'The recipient is not a valid address',
    });

    const refused = await waitFor(async () => {
      const events = (await fx.events('envelope.refused')).filter((e) => e.appId === literalApp);
      return events.length >= 3 ? events : undefined;
    });
    expect(refused.map((e) => ({ command: e.data['command'], reason: e.data['reason'] }))).toEqual(
      expect.arrayContaining([
        { command: 'MAIL', reason: 'null_sender' },
        { command: 'MAIL', reason: 'invalid_address' },
        { command: 'RCPT', reason: 'invalid_address' },
      ]),
    );
    expect(refused).toHaveLength(3);
  });
});
