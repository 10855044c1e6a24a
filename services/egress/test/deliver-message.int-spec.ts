import { jobIds, newMessageId } from '@ser/contracts';
import { MessageRepository } from '@ser/data';
import type { MessageDocument } from '@ser/data';
import { createLogger } from '@ser/logger';
import { GridFsMessageStore } from '@ser/mongo';
import type { MongoConnection } from '@ser/mongo';
import { QueueBus } from '@ser/queue';
import { startServices } from '@ser/runtime';
import type { RunningServices } from '@ser/runtime';
import {
  connectTestDatabase,
  freePort,
  relayTestConfig,
  startDnsServer,
  startSmtpSink,
  waitFor,
} from '@ser/testing';
import type { SmtpSink, TestDnsServer } from '@ser/testing';
import { Readable } from 'node:stream';
import { egressService } from '../src/index';

const SIGNATURE = 'DKIM-Signature: v=1; a=rsa-sha256; d=acme.test; s=s1; b=test\r\n';

describe('egress delivery', () => {
  let dns: TestDnsServer;
  let sink: SmtpSink;
  let running: RunningServices;
  let mongo: MongoConnection;
  let bus: QueueBus;
  let messages: MessageRepository;

  beforeAll(async () => {
    dns = await startDnsServer();
    const sinkPort = await freePort();
    sink = await startSmtpSink({ port: sinkPort });
    const { config } = await relayTestConfig({
      SER_DNS_SERVERS: dns.address,
      SER_EGRESS_PORT: String(sinkPort),
    });
    running = await startServices([egressService], config, createLogger({ level: 'silent', pretty: false }));
    mongo = await connectTestDatabase('egress-int-spec', config.mongoDb);
    bus = new QueueBus(config.REDIS_URL, config.SER_QUEUE_PREFIX);
    messages = new MessageRepository(mongo.db);
    dns.set('dest.test', 'MX', [{ preference: 10, exchange: 'mx.dest.test' }]);
    dns.set('mx.dest.test', 'A', ['127.0.0.1']);
  });

  afterAll(async () => {
    await running?.stop();
    await bus?.close();
    await mongo?.close();
    await Promise.all([sink?.close(), dns?.close()]);
  });

  /** A signed message as the signer leaves it: body in the store, signature header on the record. */
  async function signedMessage(
    rcptTo: string[],
    subject: string,
    signing: Pick<MessageDocument, 'dkim' | 'unsigned'> = {
      dkim: { domain: 'acme.test', selector: 's1', keyId: 'dk_test', headers: SIGNATURE },
    },
  ): Promise<string> {
    const id = newMessageId();
    const body = `From: billing@acme.test\r\nTo: ${rcptTo.join(', ')}\r\nSubject: ${subject}\r\n\r\n.leading dot\r\nbody\r\n`;
    await new GridFsMessageStore(mongo.db).put(id, Readable.from([Buffer.from(body)]), {});
    const now = new Date();
    const message: MessageDocument = {
      _id: id,
      tenantId: 'ten_test',
      appId: 'app_test',
      credentialId: 'cred_test',
      envelope: { mailFrom: 'bounces@saas.test', rcptTo },
      headerFrom: 'billing@acme.test',
      fromDomain: 'acme.test',
      size: body.length,
      state: 'signed',
      ...signing,
      client: { ip: '127.0.0.1', tls: true },
      createdAt: now,
      updatedAt: now,
      expiresAt: now,
    };
    await messages.create(message);
    return id;
  }

  const deliver = (messageId: string, domain: string, attempts = 4) =>
    bus.enqueue('deliver', { v: 1, messageId, domain }, jobIds.deliver(messageId, domain), {
      attempts,
      backoff: { type: 'fixed', delay: 100 },
    });

  const finalState = (messageId: string) =>
    waitFor(
      async () => {
        const m = await messages.findById(messageId);
        return m !== null && !['signed', 'delivering'].includes(m.state) ? m.state : undefined;
      },
      { timeoutMs: 20000, intervalMs: 100, description: `final state of ${messageId}` },
    );

  it('prepends the signature, keeps the body intact and records delivery per recipient', async () => {
    const id = await signedMessage(['a@dest.test'], 'plain');
    await deliver(id, 'dest.test');

    expect(await finalState(id)).toBe('delivered');
    const received = sink.messages.find((m) => m.raw.toString().includes('Subject: plain'));
    expect(received?.raw.toString().startsWith(SIGNATURE)).toBe(true);
    expect(received?.raw.toString()).toContain('\r\n.leading dot\r\n');
    expect(received?.envelope).toEqual({ mailFrom: 'bounces@saas.test', rcptTo: ['a@dest.test'] });
    const [recipient] = await messages.recipientsFor(id);
    expect(recipient).toMatchObject({ state: 'delivered', attempts: 1 });
    expect(recipient?.lastReply).toMatch(/^250 (?!250)/);
  });

  it('delivers a message the no-key policy let go unsigned, with nothing prepended', async () => {
    const id = await signedMessage(['a@dest.test'], 'unsigned', {
      unsigned: { reason: 'dkim_key_missing', domain: 'acme.test' },
    });
    await deliver(id, 'dest.test');
    expect(await finalState(id)).toBe('delivered');
    const received = sink.messages.find((m) => m.raw.toString().includes('Subject: unsigned'));
    expect(received?.raw.toString()).not.toContain('DKIM-Signature');
  });

  it('retries a 4xx recipient without re-sending to the one already accepted, and bounces a 5xx', async () => {
    let refusals = 0;
    sink.setReply((rcpt) => {
      if (rcpt === 'later@dest.test' && refusals < 1) {
        refusals += 1;
        return { code: 450, message: '4.2.1 Mailbox busy, try later' };
      }
      return rcpt === 'gone@dest.test' ? { code: 550, message: '5.1.1 No such user' } : undefined;
    });
    const id = await signedMessage(['now@dest.test', 'later@dest.test', 'gone@dest.test'], 'retry');
    await deliver(id, 'dest.test');

    expect(await finalState(id)).toBe('partially_delivered');
    sink.setReply(undefined);
    const copies = sink.messages.filter((m) => m.raw.toString().includes('Subject: retry'));
    expect(copies.map((m) => m.envelope.rcptTo)).toEqual([['now@dest.test'], ['later@dest.test']]);
    const states = Object.fromEntries(
      (await messages.recipientsFor(id)).map((r) => [r.address, [r.state, r.attempts]]),
    );
    expect(states).toEqual({
      'gone@dest.test': ['bounced', 1],
      'later@dest.test': ['delivered', 2],
      'now@dest.test': ['delivered', 1],
    });
  });

  it('bounces recipients of a domain that does not exist, and of a null MX domain', async () => {
    dns.set('nomail.test', 'MX', [{ preference: 0, exchange: '.' }]);
    const missing = await signedMessage(['x@missing.test'], 'nxdomain');
    const nullMx = await signedMessage(['x@nomail.test'], 'null mx');
    await deliver(missing, 'missing.test');
    await deliver(nullMx, 'nomail.test');

    expect(await finalState(missing)).toBe('bounced');
    expect(await finalState(nullMx)).toBe('bounced');
    expect((await messages.recipientsFor(nullMx))[0]?.lastReply).toMatch(/null MX/);
  });

  it('bounces as undeliverable after the last attempt when the MX stays unreachable', async () => {
    dns.set('down.test', 'MX', [{ preference: 10, exchange: 'mx.closed.test' }]);
    // Nothing listens on 127.0.0.2 at the sink's port: every attempt is refused.
    dns.set('mx.closed.test', 'A', ['127.0.0.2']);
    const id = await signedMessage(['x@down.test'], 'unreachable');
    await deliver(id, 'down.test', 2);

    expect(await finalState(id)).toBe('bounced');
    const [recipient] = await messages.recipientsFor(id);
    expect(recipient?.attempts).toBe(2);
    expect(recipient?.lastReply).toMatch(/^4\d\d /);
  });
});
