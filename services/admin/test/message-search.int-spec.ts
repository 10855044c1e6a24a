import { newMessageId } from '@ser/contracts';
import { COLLECTIONS, MessageRepository, newId } from '@ser/data';
import type { AuditDocument, MessageDocument } from '@ser/data';
import { senderKeys, subjectHash } from '@ser/mail';
import { GridFsMessageStore } from '@ser/mongo';
import type { Db } from 'mongodb';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import type { AdminClient } from './admin-client';
import { expectProblem, startAdminFixture } from './admin-fixture';
import type { AdminFixture } from './admin-fixture';

interface SearchItem {
  id: string;
  tenantId: string;
  appId: string;
  state: string;
  headerFrom: string;
  mailFrom: string;
  rcptTo: string[];
  subject?: string;
  size: number;
  createdAt: string;
  updatedAt: string;
}
interface SearchPage {
  items: SearchItem[];
  nextCursor: string | null;
}

const SIGNATURE =
  'DKIM-Signature: v=1; a=rsa-sha256; d=acme.test; s=s1;\r\n\th=from:subject; bh=abc=; b=def=\r\n';

describe('admin API: message search and raw samples', () => {
  let fixture: AdminFixture | undefined;
  let db: Db;
  let api: AdminClient;
  let messages: MessageRepository;
  let store: GridFsMessageStore;

  beforeAll(async () => {
    fixture = await startAdminFixture();
    ({ db, api } = fixture);
    messages = new MessageRepository(db);
    store = new GridFsMessageStore(db);
  });

  afterAll(async () => {
    await fixture?.stop();
  });

  const newTenant = async () => (await api.created('/v1/tenants', { name: 'Acme' })).id;

  let clock = Date.now() - 86_400_000;
  /**
   * A message record and its body, with the search keys ingress derives (`senders`, `subjectHash`);
   * each one a second newer than the last, so ids sort by seeding order.
   */
  async function seed(
    tenantId: string,
    extra: Partial<MessageDocument> = {},
    body: Buffer = Buffer.from(`Subject: hello ${String(clock)}\r\n\r\nHi.\r\n`),
  ): Promise<MessageDocument> {
    clock += 1000;
    const at = new Date(clock);
    const message: MessageDocument = {
      _id: newMessageId(clock),
      tenantId,
      appId: 'app_000000000000000000000001',
      credentialId: 'cred_test',
      envelope: { mailFrom: 'bounces@acme.test', rcptTo: ['b@dest.test'] },
      headerFrom: 'news@acme.test',
      fromDomain: 'acme.test',
      subject: `hello ${String(clock)}`,
      size: body.length,
      state: 'delivered',
      client: { ip: '127.0.0.1', tls: true },
      createdAt: at,
      updatedAt: at,
      expiresAt: new Date(clock + 30 * 86_400_000),
      ...extra,
    };
    message.senders = senderKeys(message.headerFrom, message.envelope.mailFrom);
    if (message.subject !== undefined) {
      message.subjectHash = subjectHash(message.subject);
    }
    await store.put(message._id, Readable.from([body]), {});
    await messages.create(message);
    return message;
  }

  const search = async (query: string) => {
    const response = await api.get<SearchPage>(`/v1/messages?${query}`);
    expect(response.status).toBe(200);
    return response.body;
  };
  const ids = async (query: string) => (await search(query)).items.map((i) => i.id);

  it('requires the bearer token', async () => {
    const anonymous = api.withToken(undefined);
    expectProblem(
      await anonymous.get('/v1/messages?tenantId=ten_000000000000000000000000'),
      401,
      'unauthorized',
    );
    expectProblem(await anonymous.get(`/v1/messages/${newMessageId()}/raw`), 401, 'unauthorized');
  });

  it('finds a tenant’s messages by each filter, newest first, with the listed fields only', async () => {
    const tenantId = await newTenant();
    const other = await newTenant();
    const appB = newId('app');
    const m1 = await seed(tenantId, { subject: 'Invoice 42' });
    const m2 = await seed(tenantId, { appId: appB, state: 'bounced', headerFrom: 'alerts@acme.test' });
    const m3 = await seed(tenantId, {
      envelope: { mailFrom: 'alerts@acme.test', rcptTo: ['Carol@Dest.test', 'dave@dest.test'] },
      dkim: { domain: 'acme.test', selector: 's1', keyId: 'dk_x', headers: SIGNATURE },
    });
    const theirs = await seed(other, { headerFrom: 'alerts@acme.test', subject: 'Invoice 42' });
    const q = `tenantId=${tenantId}`;

    expect(await ids(q)).toEqual([m3._id, m2._id, m1._id]);
    expect(await ids(`${q}&appId=${appB}`)).toEqual([m2._id]);
    expect(await ids(`${q}&status=bounced`)).toEqual([m2._id]);
    expect(await ids(`${q}&status=quarantined`)).toEqual([]);
    expect(await ids(`${q}&from=${m2.createdAt.toISOString()}`)).toEqual([m3._id, m2._id]);
    expect(await ids(`${q}&to=${m2.createdAt.toISOString()}`)).toEqual([m2._id, m1._id]);
    const from = encodeURIComponent(
      new Date(m2.createdAt.getTime() + 3_600_000).toISOString().replace('Z', '+01:00'),
    );
    expect(await ids(`${q}&from=${from}&to=${m2.createdAt.toISOString()}`)).toEqual([m2._id]);
    // Header From or envelope sender, compared lowercase.
    expect(await ids(`${q}&sender=ALERTS@acme.test`)).toEqual([m3._id, m2._id]);
    expect(await ids(`${q}&sender=bounces@acme.test`)).toEqual([m2._id, m1._id]);
    expect(await ids(`${q}&recipient=carol@dest.test`)).toEqual([m3._id]);
    expect(await ids(`${q}&recipient=b@dest.test`)).toEqual([m2._id, m1._id]);
    expect(await ids(`${q}&recipient=b@dest.test&status=bounced`)).toEqual([m2._id]);
    expect(await ids(`${q}&subject=${encodeURIComponent('Invoice 42')}`)).toEqual([m1._id]);
    expect(await ids(`${q}&subjectHash=${sha256('Invoice 42').toUpperCase()}`)).toEqual([m1._id]);
    expect(await ids(`${q}&subject=Invoice%2042&subjectHash=${sha256('Invoice 42')}`)).toEqual([m1._id]);
    expect(await ids(`${q}&messageId=${m2._id}`)).toEqual([m2._id]);
    expect(await ids(`${q}&messageId=${m2._id}&recipient=b@dest.test`)).toEqual([m2._id]);
    expect(await ids(`${q}&messageId=${m3._id}&recipient=b@dest.test`)).toEqual([]);

    // Tenant scoping: another tenant's message is never found, not even by its id.
    expect(await ids(`${q}&messageId=${theirs._id}`)).toEqual([]);
    expect(await ids(`${q}&recipient=b@dest.test&messageId=${theirs._id}`)).toEqual([]);
    expect(await ids(`tenantId=${other}`)).toEqual([theirs._id]);

    const [item] = (await search(`${q}&messageId=${m3._id}`)).items;
    expect(item).toEqual({
      id: m3._id,
      tenantId,
      appId: m3.appId,
      status: 'delivered',
      state: 'delivered',
      headerFrom: 'news@acme.test',
      mailFrom: 'alerts@acme.test',
      rcptTo: ['Carol@Dest.test', 'dave@dest.test'],
      subject: m3.subject,
      size: m3.size,
      createdAt: m3.createdAt.toISOString(),
      updatedAt: m3.updatedAt.toISOString(),
    });
  });

  it('finds a subject by its normalised hash and a sender in any case', async () => {
    const tenantId = await newTenant();
    const q = `tenantId=${tenantId}`;
    const encoded = await seed(tenantId, {
      subject: '=?utf-8?q?Caf=C3=A9?=  \t ouvert ',
      headerFrom: 'Alice@Example.COM',
      envelope: { mailFrom: 'Bounce+1@Mail.Example.com', rcptTo: ['b@dest.test'] },
    });
    const bounce = await seed(tenantId, {
      subject: 'Café ouvert',
      headerFrom: 'alice@example.com',
      envelope: { mailFrom: '', rcptTo: ['b@dest.test'] },
    });
    const other = await seed(tenantId, { subject: 'Café fermé', headerFrom: 'bob@example.com' });

    for (const subject of ['Café ouvert', '  Cafe\u0301   ouvert', '=?iso-8859-1?q?Caf=E9?= ouvert']) {
      expect(await ids(`${q}&subject=${encodeURIComponent(subject)}`)).toEqual([bounce._id, encoded._id]);
    }
    expect(await ids(`${q}&subject=${encodeURIComponent('café ouvert')}`)).toEqual([]);
    for (const sender of ['alice@example.com', 'ALICE@Example.Com', 'Alice@Example.COM']) {
      expect(await ids(`${q}&sender=${encodeURIComponent(sender)}`)).toEqual([bounce._id, encoded._id]);
    }
    expect(await ids(`${q}&sender=bounce%2B1@mail.example.com`)).toEqual([encoded._id]);
    expect(await ids(`${q}&sender=BOB@example.com`)).toEqual([other._id]);
    // The stored subject is returned as sent.
    expect((await search(`${q}&messageId=${encoded._id}`)).items[0]?.subject).toBe(encoded.subject);
  });

  it('pages through 120 messages without overlap or gap, also by recipient', async () => {
    const tenantId = await newTenant();
    const seeded: string[] = [];
    for (let i = 0; i < 120; i += 1) {
      seeded.push(
        (await seed(tenantId, { envelope: { mailFrom: 'a@acme.test', rcptTo: ['many@dest.test'] } }))._id,
      );
    }
    await seed(await newTenant(), { envelope: { mailFrom: 'a@acme.test', rcptTo: ['many@dest.test'] } });
    const expected = [...seeded].reverse();
    for (const filter of ['', '&recipient=many@dest.test', '&sender=a@acme.test']) {
      const pages: SearchPage[] = [];
      let cursor: string | null = null;
      do {
        const page = await search(
          `tenantId=${tenantId}${filter}&limit=50${cursor === null ? '' : `&cursor=${cursor}`}`,
        );
        pages.push(page);
        cursor = page.nextCursor;
      } while (cursor !== null);
      expect(pages.map((p) => p.items.length)).toEqual([50, 50, 20]);
      expect(pages.flatMap((p) => p.items.map((i) => i.id))).toEqual(expected);
    }
    const defaultPage = await search(`tenantId=${tenantId}`);
    expect(defaultPage.items).toHaveLength(50);
    expect(defaultPage.nextCursor).toBe(expected[49]);
  });

  it('refuses invalid or injected parameters with a 400 before any query', async () => {
    const tenantId = await newTenant();
    const injection = encodeURIComponent('{"$ne":null}');
    const bad = [
      '',
      `tenantId=${injection}`,
      'tenantId=ten_x',
      `tenantId=${tenantId}&tenantId=${tenantId}`,
      `tenantId[$ne]=x`,
      `tenantId=${tenantId}&appId=${injection}`,
      `tenantId=${tenantId}&status=${injection}`,
      `tenantId=${tenantId}&status=sent`,
      `tenantId=${tenantId}&from=yesterday`,
      `tenantId=${tenantId}&from=2026-01-02T00:00:00Z&to=2026-01-01T00:00:00Z`,
      `tenantId=${tenantId}&sender=${injection}`,
      `tenantId=${tenantId}&sender[$ne]=x`,
      `tenantId=${tenantId}&recipient=${injection}`,
      `tenantId=${tenantId}&recipient=not-an-address`,
      `tenantId=${tenantId}&subjectHash=${injection}`,
      `tenantId=${tenantId}&subject=Invoice&subjectHash=${sha256('Other')}`,
      `tenantId=${tenantId}&messageId=${encodeURIComponent('{"$gt":""}')}`,
      `tenantId=${tenantId}&cursor=${injection}`,
      `tenantId=${tenantId}&limit=0`,
      `tenantId=${tenantId}&limit=201`,
      `tenantId=${tenantId}&limit=ten`,
      `tenantId=${tenantId}&state=delivered`,
    ];
    for (const query of bad) {
      expectProblem(await api.get(`/v1/messages?${query}`), 400, 'invalid-request');
    }
    expectProblem(await api.get(`/v1/messages/${injection}`), 400, 'invalid-request');
    expectProblem(await api.get(`/v1/messages/${injection}/raw`), 400, 'invalid-request');
    expectProblem(await api.get('/v1/messages?tenantId=ten_000000000000000000000000'), 404, 'not-found');
  });

  describe('raw sample', () => {
    const raw = (messageId: string, token = fixture!.setup.adminToken) =>
      fetch(`http://127.0.0.1:${String(fixture!.config.SER_ADMIN_PORT)}/v1/messages/${messageId}/raw`, {
        headers: { authorization: `Bearer ${token}` },
      });
    const auditFor = (messageId: string) =>
      db.collection<AuditDocument>(COLLECTIONS.audit).find({ 'target.id': messageId }).toArray();

    it('streams the signature header(s) and the stored body byte for byte, audited', async () => {
      const tenantId = await newTenant();
      const body = Buffer.concat([
        Buffer.from('From: news@acme.test\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n\r\n'),
        Buffer.from([0xc3, 0xa9, 0x00, 0xff, 0x0d, 0x0a]),
        Buffer.alloc(600_000, 0x61),
        Buffer.from('\r\n'),
      ]);
      const signed = await seed(
        tenantId,
        { dkim: { domain: 'acme.test', selector: 's1', keyId: 'dk_x', headers: SIGNATURE } },
        body,
      );
      const response = await raw(signed._id);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-type')).toBe('message/rfc822');
      expect(response.headers.get('content-disposition')).toBe(`attachment; filename="${signed._id}.eml"`);
      const bytes = Buffer.from(await response.arrayBuffer());
      expect(bytes.equals(Buffer.concat([Buffer.from(SIGNATURE), body]))).toBe(true);

      const entries = await auditFor(signed._id);
      expect(entries).toHaveLength(1);
      expect(entries[0]).toMatchObject({
        actor: 'operator:bootstrap',
        action: 'message.download',
        tenantId,
        target: { type: 'message', id: signed._id },
        details: { signed: true },
      });
      expect(entries[0]?.details?.['ip']).toEqual(expect.stringMatching(/127\.0\.0\.1/));
      expect(Date.now() - entries[0]!.at.getTime()).toBeLessThan(60_000);

      const unsigned = await seed(tenantId, {}, Buffer.from('Subject: plain\r\n\r\nx\r\n'));
      const plain = await raw(unsigned._id);
      expect(Buffer.from(await plain.arrayBuffer()).toString()).toBe('Subject: plain\r\n\r\nx\r\n');
    });

    it('answers 404 for an unknown message and 410 when the body is gone, without an audit entry', async () => {
      const tenantId = await newTenant();
      const unknown = newMessageId();
      expect((await raw(unknown)).status).toBe(404);
      const deleted = await seed(tenantId, { state: 'deleted' });
      await store.delete(deleted._id);
      const response = await raw(deleted._id);
      expect(response.status).toBe(410);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(await response.json()).toMatchObject({ type: 'https://ser.dev/problems/gone', status: 410 });
      expect(await auditFor(deleted._id)).toEqual([]);
      expect((await raw(deleted._id, 'wrong-token-wrong-token-wrong')).status).toBe(401);
    });
  });
});

function sha256(text: string): string {
  return createHash('sha256').update(text).digest('hex');
}
