import { newMessageId } from '@ser/contracts';
import type { RelayEvent } from '@ser/contracts';
import { ensureIndexes } from '@ser/mongo';
import type { MongoConnection } from '@ser/mongo';
import { connectTestDatabase, uniqueName } from '@ser/testing';
import {
  eventIndexes,
  EventRepository,
  isDuplicateKeyError,
  newId,
  tenantConfigIndexes,
  TenantConfigRepository,
} from '../src';
import type { ApplicationDocument, CredentialDocument, DomainDocument } from '../src';

/** Tenant configuration and events against the real FerretDB from MONGO_URL, in a database of this file's own. */
let mongo: MongoConnection;

beforeAll(async () => {
  mongo = await connectTestDatabase('data-tenants-int-spec');
  await ensureIndexes(mongo.db, [...tenantConfigIndexes, ...eventIndexes]);
});

afterAll(async () => {
  await mongo?.db.dropDatabase();
  await mongo?.close();
});

describe('EventRepository', () => {
  let events: EventRepository;

  beforeAll(() => {
    events = new EventRepository(mongo.db);
  });

  function event(overrides: Partial<RelayEvent> & Pick<RelayEvent, 'id' | 'at'>): RelayEvent {
    return { v: 1, type: 'message.accepted', tenantId: 'ten_a', data: {}, ...overrides };
  }

  it('records an event once; a redelivered event returns false and changes nothing', async () => {
    const messageId = newMessageId();
    const first = event({
      id: `${messageId}.accepted`,
      at: '2025-06-01T12:00:00.000Z',
      messageId,
      data: { n: 1 },
    });

    expect(await events.record(first)).toBe(true);
    expect(await events.record({ ...first, data: { n: 2 } })).toBe(false);

    const stored = await events.events.find({ _id: first.id }).toArray();
    expect(stored).toHaveLength(1);
    expect(stored[0]?.data).toEqual({ n: 1 });
    expect(stored[0]?.at).toEqual(new Date(first.at));
  });

  it("returns a message's timeline oldest first, scoped by tenant", async () => {
    const messageId = newMessageId();
    const at = (minute: number) => `2025-06-01T12:${String(minute).padStart(2, '0')}:00.000Z`;
    // Recorded out of order on purpose.
    await events.record(event({ id: `${messageId}.signed`, type: 'message.signed', at: at(3), messageId }));
    await events.record(
      event({ id: `${messageId}.accepted`, type: 'message.accepted', at: at(1), messageId }),
    );
    await events.record(event({ id: `${messageId}.scanned`, type: 'message.scanned', at: at(2), messageId }));
    // Another tenant's events naming the same message id must never show up.
    await events.record(
      event({
        id: `${messageId}.spoof`,
        type: 'delivery.succeeded',
        at: at(0),
        messageId,
        tenantId: 'ten_b',
      }),
    );
    await events.record(event({ id: `${newMessageId()}.accepted`, at: at(1), messageId: newMessageId() }));

    const timeline = await events.timeline('ten_a', messageId);
    expect(timeline.map((e) => e.type)).toEqual(['message.accepted', 'message.scanned', 'message.signed']);
    expect(timeline.every((e) => e.tenantId === 'ten_a' && e.messageId === messageId)).toBe(true);
    expect((await events.timeline('ten_b', messageId)).map((e) => e._id)).toEqual([`${messageId}.spoof`]);
    expect(await events.timeline('ten_c', messageId)).toEqual([]);
  });
});

describe('TenantConfigRepository', () => {
  let config: TenantConfigRepository;

  beforeAll(() => {
    config = new TenantConfigRepository(mongo.db);
  });

  function domain(tenantId: string, name: string): DomainDocument {
    return { _id: newId('dom'), tenantId, name, createdAt: new Date() };
  }

  function application(tenantId: string): ApplicationDocument {
    return {
      _id: newId('app'),
      tenantId,
      name: 'billing',
      status: 'active',
      allowedFromDomains: [],
      createdAt: new Date(),
    };
  }

  function credential(tenantId: string, appId: string, username: string): CredentialDocument {
    return {
      _id: newId('cred'),
      tenantId,
      appId,
      username,
      secretHash: 'scrypt$…',
      status: 'active',
      createdAt: new Date(),
    };
  }

  it("finds an application only within its tenant: another tenant's id gives null", async () => {
    const [tenantA, tenantB] = [newId('ten'), newId('ten')];
    const appA = application(tenantA);
    const appB = application(tenantB);
    await config.applications.insertMany([appA, appB]);

    expect((await config.findApplication(tenantA, appA._id))?._id).toBe(appA._id);
    expect(await config.findApplication(tenantA, appB._id)).toBeNull();
    expect(await config.findApplication(tenantB, appA._id)).toBeNull();
    expect((await config.findApplicationById(appB._id))?.tenantId).toBe(tenantB);
  });

  it("finds a domain only within its tenant: another tenant's id gives null", async () => {
    const [tenantA, tenantB] = [newId('ten'), newId('ten')];
    const domA = domain(tenantA, `${uniqueName('a')}.test`);
    const domB = domain(tenantB, `${uniqueName('b')}.test`);
    await config.domains.insertMany([domA, domB]);

    expect((await config.findDomain(tenantA, domA._id))?.name).toBe(domA.name);
    expect(await config.findDomain(tenantA, domB._id)).toBeNull();
    expect(await config.findDomain(tenantB, domA._id)).toBeNull();
  });

  it('finds a domain by name case-insensitively and returns its owner', async () => {
    const tenant = newId('ten');
    const dom = domain(tenant, `${uniqueName('mixed')}.test`);
    await config.domains.insertOne(dom);
    expect((await config.findDomainByName(dom.name.toUpperCase()))?.tenantId).toBe(tenant);
  });

  it('refuses a second domain with the same name, even for another tenant', async () => {
    const name = `${uniqueName('taken')}.test`;
    await config.domains.insertOne(domain(newId('ten'), name));

    const error = await config.domains.insertOne(domain(newId('ten'), name)).catch((e: unknown) => e);

    expect(isDuplicateKeyError(error)).toBe(true);
    expect(await config.domains.countDocuments({ name })).toBe(1);
  });

  it('refuses a second credential with the same user name', async () => {
    const username = uniqueName('app');
    const tenant = newId('ten');
    await config.credentials.insertOne(credential(tenant, newId('app'), username));

    const error = await config.credentials
      .insertOne(credential(newId('ten'), newId('app'), username))
      .catch((e: unknown) => e);

    expect(isDuplicateKeyError(error)).toBe(true);
    expect((await config.findCredentialByUsername(username))?.tenantId).toBe(tenant);
  });

  it('refuses a second DKIM key with the same selector on a domain', async () => {
    const tenant = newId('ten');
    const domainId = newId('dom');
    const key = {
      tenantId: tenant,
      domainId,
      domain: 'acme.test',
      selector: 's1',
      algorithm: 'ed25519' as const,
      publicKey: 'AAAA',
      privateKey: { alg: 'A256GCM' as const, keyId: 'k', iv: 'i', tag: 't', data: 'd' },
      status: 'pending' as const,
      createdAt: new Date(),
    };
    await config.dkimKeys.insertOne({ ...key, _id: newId('dk') });
    const error = await config.dkimKeys.insertOne({ ...key, _id: newId('dk') }).catch((e: unknown) => e);
    expect(isDuplicateKeyError(error)).toBe(true);
  });

  it('keeps the unique indexes when ensureIndexes runs again', async () => {
    await ensureIndexes(mongo.db, tenantConfigIndexes);
    const name = `${uniqueName('again')}.test`;
    await config.domains.insertOne(domain(newId('ten'), name));
    const error = await config.domains.insertOne(domain(newId('ten'), name)).catch((e: unknown) => e);
    expect(isDuplicateKeyError(error)).toBe(true);
  });
});

describe('isDuplicateKeyError', () => {
  it('recognises only error code 11000', () => {
    expect(isDuplicateKeyError({ code: 11000 })).toBe(true);
    expect(isDuplicateKeyError({ code: 11001 })).toBe(false);
    expect(isDuplicateKeyError(new Error('E11000 duplicate key'))).toBe(false);
    expect(isDuplicateKeyError(null)).toBe(false);
  });
});
