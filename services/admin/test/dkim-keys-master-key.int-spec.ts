import { createLogger } from '@ser/logger';
import { COLLECTIONS, dkimKeyAad } from '@ser/data';
import type { DkimKeyDocument } from '@ser/data';
import { startServices } from '@ser/runtime';
import type { RunningServices } from '@ser/runtime';
import { SecretBox, SecretBoxError } from '@ser/security';
import type { DirectSealedSecret } from '@ser/security';
import { freePort } from '@ser/testing';
import type { Collection } from 'mongodb';
import { createCipheriv, createHash, createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import { adminService } from '../src/index';
import { AdminClient } from './admin-client';
import { startAdminFixture } from './admin-fixture';
import type { AdminFixture } from './admin-fixture';

interface RewrapView {
  keyId: string;
  rewrapped: number;
  failed: { id: string; keyId: string; reason: string }[];
}

const newMasterKey = () => randomBytes(32).toString('base64');

/** A key sealed in the first format (directly under the master key), as written before envelopes. */
function sealDirect(masterKey: string, plaintext: string, aad: string): DirectSealedSecret {
  const key = Buffer.from(masterKey, 'base64');
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(aad, 'utf8'));
  const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
  return {
    alg: 'A256GCM',
    keyId: createHash('sha256').update(key).digest('hex').slice(0, 16),
    iv: iv.toString('base64'),
    tag: cipher.getAuthTag().toString('base64'),
    data: data.toString('base64'),
  };
}

function openError(box: SecretBox, key: DkimKeyDocument): unknown {
  try {
    box.open(key.privateKey, dkimKeyAad(key._id));
  } catch (error) {
    return error;
  }
  return undefined;
}

/** Master key rotation across two admin processes on one database: the old key, then the new one. */
describe('admin API: DKIM private keys at rest and master key rotation', () => {
  let fixture: AdminFixture | undefined;
  let rotated: RunningServices | undefined;
  let dkimKeys: Collection<DkimKeyDocument>;

  beforeAll(async () => {
    fixture = await startAdminFixture();
    dkimKeys = fixture.db.collection<DkimKeyDocument>(COLLECTIONS.dkimKeys);
  });

  afterAll(async () => {
    await rotated?.stop();
    await fixture?.stop();
  });

  it('seals keys in envelopes that only the master key opens; after rotation, rewrap moves them to the new key', async () => {
    const { api, config } = fixture!;
    const oldKey = config.SER_MASTER_KEY!;
    const tenantId = (await api.created('/v1/tenants', { name: 'Acme' })).id;
    const domain = await api.created<{ id: string }>(`/v1/tenants/${tenantId}/domains`, {
      name: 'acme.test',
    });
    const keysPath = `/v1/domains/${domain.id}/dkim-keys`;

    const pem = generateKeyPairSync('rsa', { modulusLength: 2048 })
      .privateKey.export({ type: 'pkcs1', format: 'pem' })
      .toString();
    const imported = await api.created<{ id: string }>(keysPath, { algorithm: 'rsa', privateKeyPem: pem });
    const generated = await api.created<{ id: string }>(keysPath, { algorithm: 'ed25519' });
    const pkcs8 = createPrivateKey(pem).export({ type: 'pkcs8', format: 'pem' }).toString();

    // Read straight from the database: no PEM, and none of the private numbers in any encoding.
    // (The modulus is public: it is in the published key, so it is not looked for.)
    const document = (await dkimKeys.findOne({ _id: imported.id }))!;
    const raw = JSON.stringify(document);
    const jwk = createPrivateKey(pem).export({ format: 'jwk' });
    const privateNumbers = [jwk.d, jwk.p, jwk.q, jwk.dp, jwk.dq, jwk.qi].map((n) =>
      Buffer.from(n!, 'base64url'),
    );
    const der = createPrivateKey(pem).export({ type: 'pkcs8', format: 'der' });
    for (const secret of [
      'PRIVATE KEY',
      Buffer.from(pem).toString('base64').slice(0, 40),
      Buffer.from(pkcs8).toString('base64').slice(0, 40),
      der.toString('base64'),
      ...privateNumbers.flatMap((n) => [
        n.toString('base64').slice(0, 24),
        n.toString('base64url').slice(0, 24),
        n.toString('hex').slice(0, 24),
      ]),
    ]) {
      expect(raw).not.toContain(secret);
    }
    const oldBox = new SecretBox(oldKey);
    expect(document.privateKey).toMatchObject({ alg: 'A256GCM-ENV', keyId: oldBox.keyId });
    expect(oldBox.open(document.privateKey, dkimKeyAad(imported.id))).toBe(pkcs8);
    const newKey = newMasterKey();
    const newBox = new SecretBox(newKey);
    expect(openError(newBox, document)).toBeInstanceOf(SecretBoxError);
    expect(new SecretBox(newKey, [oldKey]).open(document.privateKey, dkimKeyAad(imported.id))).toBe(pkcs8);

    // A key of the first format, and one under a master key nobody configured.
    const legacyId = 'dk_legacy0000000000000000';
    const strangerId = 'dk_stranger000000000000000';
    const strangerBox = new SecretBox(newMasterKey());
    const base = { ...document, status: 'pending' as const, origin: 'imported' as const };
    await dkimKeys.insertMany([
      {
        ...base,
        _id: legacyId,
        selector: 'legacy',
        privateKey: sealDirect(oldKey, pkcs8, dkimKeyAad(legacyId)),
      },
      {
        ...base,
        _id: strangerId,
        selector: 'stranger',
        privateKey: strangerBox.seal(pkcs8, dkimKeyAad(strangerId)),
      },
    ]);

    // The operator moves the old key to SER_MASTER_KEY_PREVIOUS and starts with the new one.
    const port = await freePort();
    rotated = await startServices(
      [adminService],
      { ...config, SER_MASTER_KEY: newKey, SER_MASTER_KEY_PREVIOUS: [oldKey], SER_ADMIN_PORT: port },
      createLogger({ level: config.SER_LOG_LEVEL, pretty: false }),
    );
    const rotatedApi = new AdminClient(`http://127.0.0.1:${port}`, fixture!.setup.adminToken);
    const rewrap = await rotatedApi.post<RewrapView>('/v1/dkim-keys/rewrap', {});
    expect(rewrap.status).toBe(200);
    expect(rewrap.body).toMatchObject({ keyId: newBox.keyId, rewrapped: 3 });
    expect(rewrap.body.failed).toEqual([
      {
        id: strangerId,
        keyId: strangerBox.keyId,
        reason: `sealed with master key ${strangerBox.keyId}, current key is ${newBox.keyId} (previous: ${oldBox.keyId})`,
      },
    ]);

    // The new key alone opens every re-wrapped key; the old one no longer does.
    for (const id of [imported.id, generated.id, legacyId]) {
      const key = (await dkimKeys.findOne({ _id: id }))!;
      expect(key.privateKey).toMatchObject({ alg: 'A256GCM-ENV', keyId: newBox.keyId });
      expect(() => newBox.open(key.privateKey, dkimKeyAad(id))).not.toThrow();
      expect(openError(oldBox, key)).toBeInstanceOf(SecretBoxError);
    }
    expect(
      newBox.open((await dkimKeys.findOne({ _id: imported.id }))!.privateKey, dkimKeyAad(imported.id)),
    ).toBe(pkcs8);
    expect(newBox.open((await dkimKeys.findOne({ _id: legacyId }))!.privateKey, dkimKeyAad(legacyId))).toBe(
      pkcs8,
    );

    // Nothing left to do but the key no configured master key opens; new keys go under the new key.
    const again = await rotatedApi.post<RewrapView>('/v1/dkim-keys/rewrap');
    expect(again.body).toMatchObject({ rewrapped: 0, failed: [{ id: strangerId }] });
    const created = await rotatedApi.created<{ id: string }>(keysPath, { algorithm: 'ed25519' });
    expect((await dkimKeys.findOne({ _id: created.id }))?.privateKey.keyId).toBe(newBox.keyId);
    expect((await rotatedApi.post('/v1/dkim-keys/rewrap', { all: true })).status).toBe(400);

    const audit = await api.get<{ items: { action: string; target: unknown; details: unknown }[] }>(
      '/v1/audit',
    );
    expect(audit.body.items.filter((e) => e.action === 'dkim_key.rewrap').reverse()).toEqual([
      expect.objectContaining({
        target: { type: 'master_key', id: newBox.keyId },
        details: { rewrapped: 3, failed: [strangerId] },
      }),
      expect.objectContaining({ details: { rewrapped: 0, failed: [strangerId] } }),
    ]);
  });
});
