import { COLLECTIONS } from '@ser/data';
import type { DkimKeyDocument, TenantDocument } from '@ser/data';
import type { TestDnsServer } from '@ser/testing';
import type { Db } from 'mongodb';
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import type { AdminClient } from './admin-client';
import { expectProblem, startAdminFixture } from './admin-fixture';
import type { AdminFixture } from './admin-fixture';

interface DkimKeyView {
  id: string;
  domain: string;
  selector: string;
  algorithm: string;
  bits?: number;
  origin: string;
  status: string;
  forced?: boolean;
  warnings?: string[];
  activatedAt?: string;
  retiredAt?: string;
  dnsRecord: { name: string; type: string; value: string; strings: string[] };
}

interface AuditView {
  action: string;
  actor: string;
  target: { type: string; id: string };
  details: Record<string, unknown>;
}

const rsaPem = (bits: number, type: 'pkcs1' | 'pkcs8' = 'pkcs8') =>
  generateKeyPairSync('rsa', { modulusLength: bits }).privateKey.export({ type, format: 'pem' }).toString();
const ed25519Pem = () =>
  generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const spkiOf = (pem: string) =>
  createPublicKey(pem).export({ type: 'spki', format: 'der' }).toString('base64');

describe('admin API: DKIM keys', () => {
  let fixture: AdminFixture | undefined;
  let db: Db;
  let dns: TestDnsServer;
  let api: AdminClient;

  beforeAll(async () => {
    fixture = await startAdminFixture();
    ({ db, dns, api } = fixture);
  });

  afterAll(async () => {
    await fixture?.stop();
  });

  let domainCount = 0;
  const newDomain = async () => {
    const tenantId = (await api.created('/v1/tenants', { name: 'Acme' })).id;
    domainCount += 1;
    const domain = await api.created(`/v1/tenants/${tenantId}/domains`, {
      name: `d${domainCount}.acme.test`,
    });
    return { tenantId, domainId: domain.id, keys: `/v1/domains/${domain.id}/dkim-keys` };
  };
  const stored = (id: string) => db.collection<DkimKeyDocument>(COLLECTIONS.dkimKeys).findOne({ _id: id });
  const publish = (key: DkimKeyView) => dns.set(key.dnsRecord.name, 'TXT', [key.dnsRecord.strings]);
  const activate = (key: DkimKeyView, body: unknown = {}) =>
    api.post<DkimKeyView>(`/v1/dkim-keys/${key.id}/activate`, body);
  const retire = (key: DkimKeyView, body: unknown = {}) =>
    api.post<DkimKeyView>(`/v1/dkim-keys/${key.id}/retire`, body);
  const auditOf = async (tenantId: string) =>
    // The decisions, without the `api.*` entry every call leaves (api-hardening.int-spec.ts).
    (await api.get<{ items: AuditView[] }>(`/v1/audit?tenantId=${tenantId}`)).body.items
      .filter((entry) => !entry.action.startsWith('api.'))
      .reverse();

  it('generates RSA keys of 2048 (default), 3072 and 4096 bits and Ed25519 keys, recording size and origin', async () => {
    const { keys } = await newDomain();
    const rsaDefault = await api.created<DkimKeyView>(keys, {});
    expect(rsaDefault).toMatchObject({
      algorithm: 'rsa',
      bits: 2048,
      origin: 'generated',
      status: 'pending',
    });
    for (const bits of [3072, 4096]) {
      const key = await api.created<DkimKeyView>(keys, { algorithm: 'rsa', bits });
      expect(key).toMatchObject({ bits, origin: 'generated' });
      expect((await stored(key.id))?.bits).toBe(bits);
    }
    const ed = await api.created<DkimKeyView>(keys, { algorithm: 'ed25519' });
    expect(ed).toMatchObject({ algorithm: 'ed25519', origin: 'generated' });
    expect(ed).not.toHaveProperty('bits');
    expect(ed.dnsRecord.value).toMatch(/^v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=$/);
    expect(await stored(ed.id)).toMatchObject({ origin: 'generated' });

    const refusals: [unknown, string, string][] = [
      [{ algorithm: 'rsa', bits: 1024 }, 'bits', 'expected one of 2048, 3072, 4096'],
      [{ algorithm: 'ed25519', bits: 2048 }, 'bits', 'only for algorithm rsa'],
      [{ algorithm: 'dsa' }, 'algorithm', 'Invalid option: expected one of "rsa"|"ed25519"'],
    ];
    for (const [body, path, message] of refusals) {
      expect(expectProblem(await api.post(keys, body), 400, 'invalid-request').errors).toEqual([
        { path, message },
      ]);
    }
  });

  it('returns a 4096-bit key record in strings of at most 255 bytes that activates once published', async () => {
    const { keys } = await newDomain();
    const key = await api.created<DkimKeyView>(keys, { bits: 4096 });
    expect(key.dnsRecord.value.length).toBeGreaterThan(255);
    expect(key.dnsRecord.strings.length).toBeGreaterThanOrEqual(3);
    expect(key.dnsRecord.strings.every((s) => Buffer.byteLength(s) <= 255)).toBe(true);
    expect(key.dnsRecord.strings.join('')).toBe(key.dnsRecord.value);
    publish(key);
    const activated = await activate(key);
    expect(activated.status).toBe(200);
    expect(activated.body).toMatchObject({ status: 'active', forced: false });
  });

  it('imports PKCS#1 and PKCS#8 RSA and Ed25519 keys, publishing their public half', async () => {
    const { keys } = await newDomain();
    for (const [algorithm, pem, bits] of [
      ['rsa', rsaPem(2048, 'pkcs1'), 2048],
      ['rsa', rsaPem(3072, 'pkcs8'), 3072],
      ['ed25519', ed25519Pem(), undefined],
    ] as const) {
      const response = await api.post<DkimKeyView>(keys, { algorithm, privateKeyPem: pem });
      expect(response.status).toBe(201);
      const key = response.body;
      expect(key).toMatchObject({ algorithm, origin: 'imported', status: 'pending' });
      expect(key.bits).toBe(bits);
      expect(key).not.toHaveProperty('warnings');
      expect(JSON.stringify(key)).not.toContain('PRIVATE KEY');
      if (algorithm === 'rsa') {
        expect(key.dnsRecord.value).toBe(`v=DKIM1; k=rsa; p=${spkiOf(pem)}`);
      }
      expect(await stored(key.id)).toMatchObject({ origin: 'imported' });
    }
  });

  it('accepts a 1024-bit key with a warning and refuses small, mismatched, encrypted and garbage keys with 422', async () => {
    const { keys } = await newDomain();
    const small = await api.created<DkimKeyView>(keys, {
      algorithm: 'rsa',
      privateKeyPem: rsaPem(1024, 'pkcs1'),
    });
    expect(small).toMatchObject({ bits: 1024, origin: 'imported' });
    expect(small.warnings).toEqual(['RSA key of 1024 bits: below the recommended 2048']);

    const encrypted = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs8', format: 'pem', cipher: 'aes-256-cbc', passphrase: 'pw' })
      .toString();
    const refusals: [unknown, RegExp][] = [
      [{ algorithm: 'rsa', privateKeyPem: rsaPem(768) }, /^RSA key of 768 bits: at least 1024 are required/],
      [{ algorithm: 'rsa', privateKeyPem: ed25519Pem() }, /^the private key is ed25519, not rsa$/],
      [{ algorithm: 'ed25519', privateKeyPem: rsaPem(2048) }, /^the private key is rsa, not ed25519$/],
      [{ algorithm: 'rsa', privateKeyPem: encrypted }, /^the private key is encrypted/],
      [{ algorithm: 'rsa', privateKeyPem: 'not a key' }, /^not a PEM private key/],
      [
        {
          algorithm: 'rsa',
          privateKeyPem: '-----BEGIN PRIVATE KEY-----\nZ2FyYmFnZQ==\n-----END PRIVATE KEY-----',
        },
        /^the PEM does not hold a readable private key$/,
      ],
    ];
    for (const [body, detail] of refusals) {
      expect(expectProblem(await api.post(keys, body), 422, 'unprocessable').detail).toMatch(detail);
    }
    const bitsWithImport = await api.post(keys, {
      algorithm: 'rsa',
      bits: 2048,
      privateKeyPem: rsaPem(2048),
    });
    expect(expectProblem(bitsWithImport, 400, 'invalid-request').errors).toEqual([
      { path: 'bits', message: 'the size of an imported key is read from the key' },
    ]);
    expect((await api.get<DkimKeyView[]>(keys)).body.map((k) => k.id)).toEqual([small.id]);
  });

  it('lowercases and validates selectors, generates one when absent, and refuses a duplicate with 409', async () => {
    const { keys } = await newDomain();
    const given = await api.created<DkimKeyView>(keys, { algorithm: 'ed25519', selector: ' Mail.2026-A ' });
    expect(given.selector).toBe('mail.2026-a');
    expect(given.dnsRecord.name).toBe(`mail.2026-a._domainkey.${given.domain}`);
    const generated = await api.created<DkimKeyView>(keys, { algorithm: 'ed25519' });
    expect(generated.selector).toMatch(/^ser\d{6}-[0-9a-f]{6}$/);

    const duplicate = await api.post(keys, { algorithm: 'ed25519', selector: 'MAIL.2026-a' });
    expect(expectProblem(duplicate, 409, 'conflict').detail).toBe(
      `selector mail.2026-a already exists for ${given.domain}`,
    );
    for (const selector of ['-mail', 'mail-', 'mail..x', 'mail_x', 'a'.repeat(64), '']) {
      const problem = expectProblem(
        await api.post(keys, { algorithm: 'ed25519', selector }),
        400,
        'invalid-request',
      );
      expect(problem.errors?.[0]?.path).toBe('selector');
    }
  });

  it('lists the keys of a domain, oldest first, without private material', async () => {
    const { keys } = await newDomain();
    const first = await api.created<DkimKeyView>(keys, { algorithm: 'ed25519' });
    const second = await api.created<DkimKeyView>(keys, {});
    const other = await newDomain();
    await api.created<DkimKeyView>(other.keys, { algorithm: 'ed25519' });
    const list = await api.get<DkimKeyView[]>(keys);
    expect(list.status).toBe(200);
    expect(list.body.map((k) => k.id)).toEqual([first.id, second.id]);
    expect(list.body[1]).toEqual(second);
    expect(JSON.stringify(list.body)).not.toMatch(/privateKey|PRIVATE KEY|wrappedKey/);
    expectProblem(await api.get('/v1/domains/dom_unknown/dkim-keys'), 404, 'not-found');
  });

  it('says what DNS publishes when it is not the key, and records forced activations', async () => {
    const { tenantId, keys } = await newDomain();
    const key = await api.created<DkimKeyView>(keys, {});
    const missing = expectProblem(await activate(key), 422, 'unprocessable');
    expect(missing.detail).toMatch(
      new RegExp(`^no TXT record found at ${key.dnsRecord.name.replace(/\./g, '\\.')} \\(`),
    );

    const oldKey = spkiOf(rsaPem(2048));
    dns.set(key.dnsRecord.name, 'TXT', ['v=spf1 -all', `v=DKIM1; k=rsa; p=${oldKey}`]);
    const wrong = expectProblem(await activate(key), 422, 'unprocessable');
    expect(wrong.detail).toContain(
      `the TXT record at ${key.dnsRecord.name} does not publish this key; found 2 TXT records:`,
    );
    expect(wrong.detail).toContain('"v=spf1 -all" (no p= tag)');
    expect(wrong.detail).toContain(`"v=DKIM1; k=rsa; p=${oldKey.slice(0, 62)}…"`);
    dns.set(key.dnsRecord.name, 'TXT', ['v=DKIM1; k=rsa; p=']);
    expect(expectProblem(await activate(key), 422, 'unprocessable').detail).toContain(
      '"v=DKIM1; k=rsa; p=" (empty p=: a revoked key)',
    );
    expect((await stored(key.id))?.status).toBe('pending');

    const forced = await activate(key, { force: true });
    expect(forced.status).toBe(200);
    expect(forced.body).toMatchObject({ id: key.id, status: 'active', forced: true });
    expect(typeof forced.body.activatedAt).toBe('string');
    // Activating an active key again changes nothing: it would make it the newest key.
    const again = await activate(key);
    expect(again.body).toMatchObject({
      status: 'active',
      activatedAt: forced.body.activatedAt,
      forced: false,
    });

    const entries = (await auditOf(tenantId)).filter((e) => e.target.id === key.id);
    expect(entries.map((e) => [e.action, e.details['forced']])).toEqual([
      ['dkim_key.create', undefined],
      ['dkim_key.activate', true],
    ]);
    expect(entries[1]).toMatchObject({
      actor: 'operator:bootstrap',
      target: { type: 'dkim_key', id: key.id },
      details: { domain: key.domain, selector: key.selector, algorithm: 'rsa', bits: 2048 },
    });
  });

  it('rotates: both keys active, the old one retired; the last active key only with force', async () => {
    const { tenantId, keys } = await newDomain();
    const old = await api.created<DkimKeyView>(keys, { algorithm: 'ed25519' });
    publish(old);
    expect((await activate(old)).body).toMatchObject({ status: 'active', forced: false });

    const lastOne = expectProblem(await retire(old), 409, 'conflict');
    expect(lastOne.detail).toMatch(/^this is the only active key of d\d+\.acme\.test: /);
    expect((await stored(old.id))?.status).toBe('active');

    const next = await api.created<DkimKeyView>(keys, {});
    // A pending successor does not sign: the old key is still the only active one.
    expectProblem(await retire(old), 409, 'conflict');
    publish(next);
    expect((await activate(next)).status).toBe(200);
    const retired = await retire(old);
    expect(retired.status).toBe(200);
    expect(retired.body).toMatchObject({ id: old.id, status: 'retired', forced: false });
    expect((await stored(old.id))?.status).toBe('retired');
    expect((await stored(old.id))?.retiredAt).toBeInstanceOf(Date);
    expectProblem(await retire(old), 409, 'conflict');
    expect(expectProblem(await activate(old, { force: true }), 409, 'conflict').detail).toBe(
      'a retired key cannot be activated again',
    );

    expectProblem(await retire(next), 409, 'conflict');
    const forced = await retire(next, { force: true });
    expect(forced.body).toMatchObject({ status: 'retired', forced: true });

    const pending = await api.created<DkimKeyView>(keys, { algorithm: 'ed25519' });
    expect((await retire(pending)).body).toMatchObject({ status: 'retired', forced: false });
    expectProblem(await api.post('/v1/dkim-keys/dk_unknown/retire', {}), 404, 'not-found');
    expectProblem(await retire(pending, { force: 'yes' }), 400, 'invalid-request');

    const retirements = (await auditOf(tenantId)).filter((e) => e.action === 'dkim_key.retire');
    expect(retirements.map((e) => [e.target.id, e.details['forced'], e.details['lastActive']])).toEqual([
      [old.id, false, false],
      [next.id, true, true],
      [pending.id, false, false],
    ]);
  });

  it('audits creation and import', async () => {
    const { tenantId, keys } = await newDomain();
    const generated = await api.created<DkimKeyView>(keys, { algorithm: 'ed25519' });
    const imported = await api.created<DkimKeyView>(keys, { algorithm: 'rsa', privateKeyPem: rsaPem(1024) });
    const entries = await auditOf(tenantId);
    expect(entries.map((e) => [e.action, e.target.id])).toEqual([
      ['dkim_key.create', generated.id],
      ['dkim_key.import', imported.id],
    ]);
    expect(entries[1]?.details).toMatchObject({ bits: 1024, warnings: imported.warnings });
    expect(JSON.stringify(entries)).not.toContain('PRIVATE KEY');
  });

  it('sets, returns and removes the tenant DKIM no-key policy', async () => {
    const { tenantId } = await newDomain();
    const path = `/v1/tenants/${tenantId}`;
    const storedTenant = () => db.collection<TenantDocument>(COLLECTIONS.tenants).findOne({ _id: tenantId });
    expect((await api.patch(path, { dkimNoKeyPolicy: 'send_unsigned' })).body).toMatchObject({
      dkimNoKeyPolicy: 'send_unsigned',
    });
    expect((await api.get(path)).body['dkimNoKeyPolicy']).toBe('send_unsigned');
    expect((await storedTenant())?.dkimNoKeyPolicy).toBe('send_unsigned');
    expect((await api.patch(path, { dkimNoKeyPolicy: 'hold', name: 'Acme 2' })).body).toMatchObject({
      dkimNoKeyPolicy: 'hold',
      name: 'Acme 2',
    });
    const removed = await api.patch(path, { dkimNoKeyPolicy: null });
    expect(removed.status).toBe(200);
    expect(removed.body).not.toHaveProperty('dkimNoKeyPolicy');
    expect(await storedTenant()).not.toHaveProperty('dkimNoKeyPolicy');
    expect(
      expectProblem(await api.patch(path, { dkimNoKeyPolicy: 'drop' }), 400, 'invalid-request').errors,
    ).toEqual([
      { path: 'dkimNoKeyPolicy', message: 'Invalid option: expected one of "hold"|"send_unsigned"' },
    ]);
  });
});
