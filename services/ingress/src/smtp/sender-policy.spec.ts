import type { ApplicationDocument, DomainDocument } from '@ser/data';
import { checkSenderPolicy, matchesAddressPattern, type DomainOwnerLookup } from './sender-policy';
import { SmtpReplyError } from './smtp-reply';

const TENANT = 'tenant-acme';

/** Domain names to owning tenant; records every lookup so tests can count queries. */
class FakeDomains implements DomainOwnerLookup {
  readonly lookups: string[] = [];
  private readonly owners = new Map<string, string>([
    ['acme.test', TENANT],
    ['news.acme.test', TENANT],
    ['mail.acme.test', TENANT],
    ['globex.test', 'tenant-globex'],
  ]);

  findDomainByName(name: string): Promise<DomainDocument | null> {
    this.lookups.push(name);
    const tenantId = this.owners.get(name.toLowerCase());
    return Promise.resolve(
      tenantId === undefined ? null : { _id: `d-${name}`, tenantId, name, createdAt: new Date(0) },
    );
  }
}

function app(overrides: Partial<ApplicationDocument> = {}): ApplicationDocument {
  return {
    _id: 'app-1',
    tenantId: TENANT,
    name: 'billing',
    status: 'active',
    allowedFromDomains: [],
    createdAt: new Date(0),
    ...overrides,
  };
}

function headers(...lines: string[]): string {
  return `${lines.join('\r\n')}\r\n\r\n`;
}

async function refusal(promise: Promise<unknown>): Promise<{ code: number; message: string }> {
  const error: unknown = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!(error instanceof SmtpReplyError)) {
    throw new Error('expected an SmtpReplyError', { cause: error });
  }
  return { code: error.responseCode, message: error.message };
}

const policy = (text: string) => ({ code: 550, message: `5.7.1 ${text}` });

describe('checkSenderPolicy: one From address', () => {
  it('accepts an address in a tenant domain and summarises the headers', async () => {
    const block = headers('From: Billing <Billing@ACME.test>', 'To: x@dest.test', 'Subject: Invoice 42');
    await expect(checkSenderPolicy(block, app(), new FakeDomains())).resolves.toEqual({
      headerFrom: 'Billing@ACME.test',
      fromDomain: 'acme.test',
      subject: 'Invoice 42',
    });
  });

  it('omits a missing subject and cuts a long one to 998 characters', async () => {
    const none = await checkSenderPolicy(headers('From: a@acme.test'), app(), new FakeDomains());
    expect(none).toEqual({ headerFrom: 'a@acme.test', fromDomain: 'acme.test' });
    const long = await checkSenderPolicy(
      headers('From: a@acme.test', `Subject: ${'x'.repeat(1200)}`),
      app(),
      new FakeDomains(),
    );
    expect(long.subject).toBe('x'.repeat(998));
  });

  it.each([
    ['no From field', headers('To: x@dest.test')],
    ['two From fields', headers('From: a@acme.test', 'From: b@acme.test')],
    ['two From fields, any case', headers('From: a@acme.test', 'FROM: a@acme.test')],
  ])('refuses %s', async (_, block) => {
    expect(await refusal(checkSenderPolicy(block, app(), new FakeDomains()))).toEqual(
      policy('The message must have exactly one From header field'),
    );
  });

  it('refuses a From field without an address', async () => {
    expect(await refusal(checkSenderPolicy(headers('From: undisclosed'), app(), new FakeDomains()))).toEqual(
      policy('The From header field has no address'),
    );
  });

  it.each(['alice@', 'Alice <alice@>'])('refuses the address %s, which has no domain', async (from) => {
    expect(await refusal(checkSenderPolicy(headers(`From: ${from}`), app(), new FakeDomains()))).toEqual(
      policy('The From address has no domain'),
    );
  });

  it.each(['unknown.test', 'globex.test'])('refuses %s, not a domain of the tenant', async (domain) => {
    expect(
      await refusal(checkSenderPolicy(headers(`From: ceo@${domain}`), app(), new FakeDomains())),
    ).toEqual(policy(`From domain ${domain} is not a domain of this organisation`));
  });

  it("refuses another tenant's domain even when the application lists it", async () => {
    const listed = app({ allowedFromDomains: ['acme.test', 'globex.test'] });
    expect(
      await refusal(checkSenderPolicy(headers('From: ceo@globex.test'), listed, new FakeDomains())),
    ).toEqual(policy('From domain globex.test is not a domain of this organisation'));
  });

  it('limits the application to its allowed domains when it has some', async () => {
    const restricted = app({ allowedFromDomains: ['ACME.test'] });
    const domains = new FakeDomains();
    await expect(checkSenderPolicy(headers('From: a@acme.test'), restricted, domains)).resolves.toMatchObject(
      {
        fromDomain: 'acme.test',
      },
    );
    expect(await refusal(checkSenderPolicy(headers('From: a@news.acme.test'), restricted, domains))).toEqual(
      policy('This application may not send as news.acme.test'),
    );
    await expect(checkSenderPolicy(headers('From: a@news.acme.test'), app(), domains)).resolves.toMatchObject(
      { fromDomain: 'news.acme.test' },
    );
  });

  it('limits the application to its allowed addresses when it has some', async () => {
    const restricted = app({ allowedFromAddresses: ['alerts-*@acme.test', 'billing@news.acme.test'] });
    const domains = new FakeDomains();
    for (const from of ['alerts-disk@acme.test', 'Alerts-CPU@Acme.Test', 'billing@news.acme.test']) {
      await expect(checkSenderPolicy(headers(`From: ${from}`), restricted, domains)).resolves.toMatchObject({
        headerFrom: from,
      });
    }
    expect(await refusal(checkSenderPolicy(headers('From: CEO@acme.test'), restricted, domains))).toEqual(
      policy('This application may not send as ceo@acme.test'),
    );
    await expect(
      checkSenderPolicy(headers('From: ceo@acme.test'), app({ allowedFromAddresses: [] }), domains),
    ).resolves.toMatchObject({ headerFrom: 'ceo@acme.test' });
  });

  it('needs both the allowed domain and the allowed address', async () => {
    const both = app({ allowedFromDomains: ['news.acme.test'], allowedFromAddresses: ['*@acme.test'] });
    expect(await refusal(checkSenderPolicy(headers('From: a@acme.test'), both, new FakeDomains()))).toEqual(
      policy('This application may not send as acme.test'),
    );
    expect(
      await refusal(checkSenderPolicy(headers('From: a@news.acme.test'), both, new FakeDomains())),
    ).toEqual(policy('This application may not send as a@news.acme.test'));
  });
});

describe('checkSenderPolicy: several From addresses (RFC 5322 §3.6.2)', () => {
  const authors = 'From: Ann <ann@acme.test>,\r\n Bob <bob@news.acme.test>';

  it('signs as the Sender, and returns it as headerFrom', async () => {
    const block = headers(authors, 'Sender: Desk <desk@mail.acme.test>', 'Subject: Joint');
    await expect(checkSenderPolicy(block, app(), new FakeDomains())).resolves.toEqual({
      headerFrom: 'desk@mail.acme.test',
      fromDomain: 'mail.acme.test',
      subject: 'Joint',
    });
  });

  it.each([
    ['no Sender', headers(authors)],
    ['two Sender fields', headers(authors, 'Sender: desk@acme.test', 'Sender: desk@acme.test')],
    ['a Sender with two addresses', headers(authors, 'Sender: desk@acme.test, ops@acme.test')],
    ['a Sender without an address', headers(authors, 'Sender: nobody')],
  ])('refuses several authors with %s', async (_, block) => {
    expect(await refusal(checkSenderPolicy(block, app(), new FakeDomains()))).toEqual(
      policy('The message must have exactly one From address, or exactly one Sender address'),
    );
  });

  it.each([
    [
      'a Sender of another tenant',
      'Sender: desk@globex.test',
      'Sender domain globex.test is not a domain of this organisation',
    ],
    ['a Sender without a domain', 'Sender: <desk@>', 'The Sender address has no domain'],
  ])('refuses %s', async (_, sender, text) => {
    expect(await refusal(checkSenderPolicy(headers(authors, sender), app(), new FakeDomains()))).toEqual(
      policy(text),
    );
  });

  it('refuses an author of another tenant even with a valid Sender', async () => {
    const block = headers('From: ann@acme.test, eve@globex.test', 'Sender: desk@acme.test');
    expect(await refusal(checkSenderPolicy(block, app(), new FakeDomains()))).toEqual(
      policy('From domain globex.test is not a domain of this organisation'),
    );
  });

  it("applies the application's allowances to the Sender and to every author", async () => {
    const block = headers(authors, 'Sender: desk@acme.test');
    const domainsOnly = app({ allowedFromDomains: ['acme.test'] });
    expect(await refusal(checkSenderPolicy(block, domainsOnly, new FakeDomains()))).toEqual(
      policy('This application may not send as news.acme.test'),
    );
    const addresses = app({ allowedFromAddresses: ['ann@acme.test', 'bob@news.acme.test'] });
    expect(await refusal(checkSenderPolicy(block, addresses, new FakeDomains()))).toEqual(
      policy('This application may not send as desk@acme.test'),
    );
    const all = app({ allowedFromAddresses: ['ann@acme.test', 'bob@news.acme.test', 'desk@*'] });
    expect(await refusal(checkSenderPolicy(block, all, new FakeDomains()))).toEqual(
      policy('This application may not send as desk@acme.test'),
    );
    const allowed = app({ allowedFromAddresses: ['*@acme.test', 'bob@news.acme.test'] });
    await expect(checkSenderPolicy(block, allowed, new FakeDomains())).resolves.toMatchObject({
      headerFrom: 'desk@acme.test',
    });
  });

  it('looks up each domain once however many authors share it', async () => {
    const many = Array.from({ length: 50 }, (_, i) => `user${i}@acme.test`).join(', ');
    const domains = new FakeDomains();
    await checkSenderPolicy(headers(`From: ${many}`, 'Sender: desk@acme.test'), app(), domains);
    expect(domains.lookups).toEqual(['acme.test']);
  });
});

describe('matchesAddressPattern', () => {
  it.each([
    ['billing@acme.test', 'billing@acme.test', true],
    ['Billing@ACME.test', 'billing@acme.TEST', true],
    ['billing2@acme.test', 'billing@acme.test', false],
    ['billing@acme.test', 'billing@news.acme.test', false],
    ['anyone@acme.test', '*@acme.test', true],
    ['anyone@news.acme.test', '*@acme.test', false],
    ['alerts-disk@acme.test', 'alerts-*@acme.test', true],
    ['alerts-@acme.test', 'alerts-*@acme.test', true],
    ['alert-disk@acme.test', 'alerts-*@acme.test', false],
    ['x-alerts-disk@acme.test', 'alerts-*@acme.test', false],
    ['ops-team@acme.test', '*-team@acme.test', true],
    ['ops-team-b@acme.test', '*-team@acme.test', false],
    ['a1b2c@acme.test', 'a*b*c@acme.test', true],
    ['abc@acme.test', 'a*b*c@acme.test', true],
    ['ab@acme.test', 'a*b*c@acme.test', false],
    ['aba@acme.test', 'ab*ba@acme.test', false],
    ['a.b+c@acme.test', 'a.b+c@acme.test', true],
    ['aXb+c@acme.test', 'a.b+c@acme.test', false],
    ['user@news.acme.test', 'user@*.acme.test', false],
    ['user@*.acme.test', 'user@*.acme.test', true],
    ['nodomain', 'nodomain', true],
    ['nodomain', '*', false],
  ])('%s against %s: %s', (address, pattern, expected) => {
    expect(matchesAddressPattern(address, pattern)).toBe(expected);
  });
});
