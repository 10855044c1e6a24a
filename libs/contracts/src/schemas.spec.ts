import { EVENT_TYPES, relayEventSchema } from './events';
import { newMessageId } from './ids';
import { deliverJobSchema, QUEUES, scanJobSchema, signJobSchema } from './queues';

const messageId = newMessageId();

function without(value: object, key: string): Record<string, unknown> {
  return Object.fromEntries(Object.entries(value).filter(([name]) => name !== key));
}

describe('stage job schemas', () => {
  const cases = [
    ['scan', scanJobSchema, { v: 1, messageId }],
    ['sign', signJobSchema, { v: 1, messageId }],
    ['deliver', deliverJobSchema, { v: 1, messageId, domain: 'dest.test' }],
  ] as const;

  it.each(cases)('%s accepts a valid payload unchanged', (_name, schema, valid) => {
    expect(schema.parse(valid)).toEqual(valid);
  });

  it.each(cases)('%s refuses version 2 (a breaking change gets a new queue)', (_name, schema, valid) => {
    expect(schema.safeParse({ ...valid, v: 2 }).success).toBe(false);
  });

  it.each(cases)('%s refuses a missing version', (_name, schema, valid) => {
    expect(schema.safeParse(without(valid, 'v')).success).toBe(false);
  });

  it.each(cases)('%s refuses extra fields (jobs carry ids only)', (_name, schema, valid) => {
    expect(schema.safeParse({ ...valid, body: 'Subject: x' }).success).toBe(false);
  });

  it.each(cases)('%s refuses a malformed message id', (_name, schema, valid) => {
    for (const bad of ['', 'not-an-id', messageId.toUpperCase(), `${messageId}x`, `../${messageId}`]) {
      expect(schema.safeParse({ ...valid, messageId: bad }).success).toBe(false);
    }
  });

  it('deliver refuses a missing, empty or over-long domain', () => {
    expect(deliverJobSchema.safeParse({ v: 1, messageId }).success).toBe(false);
    expect(deliverJobSchema.safeParse({ v: 1, messageId, domain: '' }).success).toBe(false);
    expect(deliverJobSchema.safeParse({ v: 1, messageId, domain: `${'a'.repeat(250)}.test` }).success).toBe(
      false,
    );
  });
});

describe('QUEUES', () => {
  it('names every queue ser.<stage>.v<major>, without ":"', () => {
    for (const name of Object.values(QUEUES)) {
      expect(name).toMatch(/^ser\.[a-z]+\.v\d+$/);
    }
    expect(new Set(Object.values(QUEUES)).size).toBe(Object.values(QUEUES).length);
  });
});

describe('relayEventSchema', () => {
  const minimal = {
    id: `${messageId}.accepted`,
    v: 1,
    type: 'message.accepted',
    at: '2025-06-01T12:00:00.000Z',
  };

  it('accepts a minimal event and defaults data to {}', () => {
    expect(relayEventSchema.parse(minimal)).toEqual({ ...minimal, data: {} });
  });

  it('keeps the optional fields and the data it is given', () => {
    const full = {
      ...minimal,
      tenantId: 'ten_1',
      appId: 'app_1',
      messageId,
      recipient: 'b@dest.test',
      data: { size: 123, tls: true },
    };
    expect(relayEventSchema.parse(full)).toEqual(full);
  });

  it('accepts every declared event type', () => {
    for (const type of EVENT_TYPES) {
      expect(relayEventSchema.safeParse({ ...minimal, type }).success).toBe(true);
    }
  });

  it.each([
    ['an unknown type', { type: 'message.exploded' }],
    ['version 2', { v: 2 }],
    ['an empty id', { id: '' }],
    ['an id over 300 characters', { id: 'x'.repeat(301) }],
    ['a time that is not ISO 8601', { at: 'yesterday' }],
    ['an empty tenant id', { tenantId: '' }],
    ['an extra field', { severity: 'high' }],
    ['data that is not an object', { data: 'text' }],
  ])('refuses %s', (_label, change) => {
    expect(relayEventSchema.safeParse({ ...minimal, ...change }).success).toBe(false);
  });

  it('refuses an event without a time', () => {
    expect(relayEventSchema.safeParse(without(minimal, 'at')).success).toBe(false);
  });
});
