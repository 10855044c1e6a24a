import { subjectHash } from '@ser/mail';
import { dataPayload } from './raw-smtp-client';
import type { RawSmtpClient } from './raw-smtp-client';
import { expectCode, SubmissionFixture } from './submission-fixture';
import type { SeededCredential, SeededTenant } from './tenant-seed';

/**
 * The search keys ingress stores with a message received over real SMTP (real Redis and FerretDB):
 * found by its subject however its whitespace or encoding differs, and by either sender in any case.
 */
describe('ingress: message search keys', () => {
  let fx: SubmissionFixture;
  let acme: SeededTenant;
  let sender: SeededCredential;

  beforeAll(async () => {
    fx = await SubmissionFixture.start({});
    acme = await fx.seed.tenant(['example.test']);
    sender = await fx.seed.credential(acme.tenantId, await fx.seed.application(acme.tenantId));
  });

  afterAll(async () => {
    await fx?.close();
  });

  async function send(client: RawSmtpClient, mailFrom: string, headers: string): Promise<string> {
    expectCode(await client.command(`MAIL FROM:<${mailFrom}>`), 250);
    expectCode(await client.command('RCPT TO:<someone@dest.test>'), 250);
    expectCode(await client.command('DATA'), 354);
    const reply = await client.sendRaw(dataPayload(`${headers}To: someone@dest.test\r\n\r\nHello.\r\n`));
    expectCode(reply, 250);
    return /queued as ([0-9a-z]{26})$/.exec(reply.text)?.[1] ?? '';
  }

  it('stores the subject hash and lowercase senders, found whatever the whitespace or case', async () => {
    const client = await fx.login(sender);
    const encoded = await send(
      client,
      'Bounce+7@Mail.Example.test',
      // Folded, encoded and with a run of whitespace: read as "Café  ouvert 42".
      'From: Alice <Alice@Example.TEST>\r\nSubject: =?utf-8?q?Caf=C3=A9?=\r\n\t ouvert   42\r\n',
    );
    // Submission refuses the null sender <>; the same address twice is one key.
    const plain = await send(
      client,
      'ALICE@example.test',
      'From: alice@example.test\r\nSubject: Café ouvert 42\r\n',
    );

    const stored = await fx.messages.findById(encoded);
    expect(stored).toMatchObject({
      headerFrom: 'Alice@Example.TEST',
      envelope: { mailFrom: 'Bounce+7@Mail.Example.test' },
      senders: ['alice@example.test', 'bounce+7@mail.example.test'],
      subjectHash: subjectHash('Café ouvert 42'),
    });
    expect((await fx.messages.findById(plain))?.senders).toEqual(['alice@example.test']);

    const search = async (q: { sender?: string; subjectHash?: string }) =>
      (await fx.messages.search({ tenantId: acme.tenantId, ...q }, 10)).map((m) => m._id);
    for (const subject of [
      'Café ouvert 42',
      '  Cafe\u0301 ouvert\t42 ',
      '=?iso-8859-1?q?Caf=E9_ouvert_42?=',
    ]) {
      expect(await search({ subjectHash: subjectHash(subject) })).toEqual([plain, encoded]);
    }
    expect(await search({ subjectHash: subjectHash('Café ouvert 43') })).toEqual([]);
    expect(await search({ sender: 'ALICE@example.test' })).toEqual([plain, encoded]);
    expect(await search({ sender: 'bounce+7@MAIL.example.test' })).toEqual([encoded]);
    expect(await search({ sender: 'someone@dest.test' })).toEqual([]);
  });
});
