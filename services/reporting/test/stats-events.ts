import type { RelayEvent } from '@ser/contracts';
import type { StatsRollupDocument } from '@ser/data';
import type { Collection, Filter } from 'mongodb';

/** A generated event with the counters it must add, written out here independently of metricsOf. */
export interface GeneratedEvent {
  event: RelayEvent;
  tenantId: string;
  appId: string;
  at: Date;
  counters: [metric: string, key: string][];
}

const APPS: Record<string, string[]> = {
  ten_a: ['app_a0', 'app_a1'],
  ten_b: ['app_b0', 'app_b1', 'app_b2'],
  ten_c: ['app_c0'],
};
const START = Date.parse('2025-02-28T00:00:00Z');
const END = Date.parse('2025-04-02T00:00:00Z');

/** Deterministic pseudo-random numbers (mulberry32), so a failure can be replayed. */
function random(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Kind = (pick: <T>(xs: readonly T[]) => T) => {
  type: RelayEvent['type'];
  data?: Record<string, unknown>;
  recipient?: string;
  relayWide?: boolean;
  counters: [string, string][];
};

const KINDS: Kind[] = [
  (pick) => {
    const headerFrom = pick(['Alerts@Acme.test', 'news@acme.test', 'ops@acme.test']);
    const mailFrom = pick(['Bounce@Mail.acme.test', 'b@acme.test']);
    return {
      type: 'message.accepted',
      data: { size: 100, mailFrom, headerFrom, recipients: 1 },
      counters: [
        ['relay_requests', ''],
        ['accepted', ''],
        ['sender_from', headerFrom.toLowerCase()],
        ['sender_envelope', mailFrom.toLowerCase()],
      ],
    };
  },
  (pick) => {
    const reason = pick(['rate_limited', 'bulk', 'sender_policy', 'too_big']);
    return {
      type: 'message.refused',
      data: { reason, reply: '550 no', clientIp: '192.0.2.1' },
      counters: [
        ['relay_requests', ''],
        ['rejected', reason],
      ],
    };
  },
  () => ({
    type: 'envelope.refused',
    data: { command: 'MAIL', reason: 'rate_limited', reply: '451 later', clientIp: '192.0.2.1' },
    counters: [
      ['relay_requests', ''],
      ['rejected', 'rate_limited'],
    ],
  }),
  () => ({
    type: 'envelope.refused',
    data: { command: 'RCPT', reason: 'too_many_recipients', reply: '452 no', clientIp: '192.0.2.1' },
    counters: [['rejected', 'too_many_recipients']],
  }),
  (pick) => {
    const ip = pick(['198.51.100.1', '198.51.100.2', '198.51.100.3']);
    return {
      type: 'auth.failed',
      relayWide: true,
      data: { clientIp: ip, username: 'u', reason: 'wrong_secret' },
      counters: [
        ['rejected', 'auth_failed'],
        ['refused_ip', ip],
      ],
    };
  },
  (pick) => {
    const ip = pick(['203.0.113.9', '203.0.113.10']);
    return {
      type: 'session.refused',
      relayWide: true,
      data: { clientIp: ip, reason: 'ip_connections', reply: '421 busy' },
      counters: [
        ['rejected', 'ip_connections'],
        ['refused_ip', ip],
      ],
    };
  },
  () => ({ type: 'message.rejected_av', data: { reason: 'virus: Eicar' }, counters: [['rejected', 'av']] }),
  () => ({ type: 'message.rejected_spam', data: { reason: 'spam' }, counters: [['rejected', 'spam']] }),
  () => ({
    type: 'message.rejected_policy',
    data: { reason: 'phishing' },
    counters: [['rejected', 'policy']],
  }),
  () => ({ type: 'message.quarantined', data: { reason: 'spam' }, counters: [['quarantined', '']] }),
  (pick) => {
    const reason = pick(['av_unavailable', 'dkim_key_missing']);
    return { type: 'message.held', data: { reason }, counters: [['held', reason]] };
  },
  () => ({ type: 'delivery.succeeded', recipient: 'r@ok.test', counters: [['delivered', '']] }),
  () => ({ type: 'delivery.deferred', recipient: 'r@slow.test', counters: [['deferred', '']] }),
  (pick) => {
    const domain = pick(['gone.test', 'Bad.test', 'nx.test']);
    return {
      type: 'delivery.bounced',
      recipient: `r@${domain}`,
      counters: [
        ['bounced', ''],
        ['failing_domain', domain.toLowerCase()],
      ],
    };
  },
  (pick) => {
    const domain = pick(['slow.test', 'gone.test']);
    return {
      type: 'delivery.expired',
      recipient: `r@${domain}`,
      counters: [
        ['expired', ''],
        ['failing_domain', domain],
      ],
    };
  },
  () => ({ type: 'delivery.suppressed', recipient: 'r@ok.test', counters: [['suppressed', '']] }),
  () => ({ type: 'session.connected', relayWide: true, data: { clientIp: '192.0.2.1' }, counters: [] }),
  () => ({ type: 'message.scanned', counters: [] }),
  () => ({ type: 'delivery.attempted', recipient: 'r@ok.test', counters: [] }),
];

/** `count` events over several tenants, applications, hours and days around March 2025. */
export function generateEvents(count: number, seed: number): GeneratedEvent[] {
  const next = random(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
  const out: GeneratedEvent[] = [];
  for (let i = 0; i < count; i += 1) {
    const kind = pick(KINDS)(pick);
    const tenantId = kind.relayWide === true ? '' : pick(Object.keys(APPS));
    const appId = tenantId === '' ? '' : pick(APPS[tenantId] ?? []);
    const at = new Date(START + Math.floor(next() * (END - START)));
    const event: RelayEvent = {
      id: `gen.${String(i)}`,
      v: 1,
      type: kind.type,
      at: at.toISOString(),
      ...(tenantId === '' ? {} : { tenantId, appId, messageId: `msg_${String(i)}` }),
      ...(kind.recipient === undefined ? {} : { recipient: kind.recipient }),
      data: kind.data ?? {},
    };
    out.push({ event, tenantId, appId, at, counters: kind.counters });
  }
  return out;
}

/** The events in a seeded random order. */
export function shuffled<T>(xs: readonly T[], seed: number): T[] {
  const next = random(seed);
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i -= 1) {
    const j = Math.floor(next() * (i + 1));
    [out[i], out[j]] = [out[j] as T, out[i] as T];
  }
  return out;
}

/** metric → key → count of the generated events in the query's scope and `[from, to)`. */
export function expectedCounts(
  events: readonly GeneratedEvent[],
  q: { tenantId: string; appId?: string; from: Date; to: Date },
): Record<string, Record<string, number>> {
  const out: Record<string, Record<string, number>> = {};
  for (const g of events) {
    if (g.tenantId !== q.tenantId || (q.appId !== undefined && g.appId !== q.appId)) {
      continue;
    }
    if (g.at < q.from || g.at >= q.to) {
      continue;
    }
    for (const [metric, key] of g.counters) {
      const keys = (out[metric] ??= {});
      keys[key] = (keys[key] ?? 0) + 1;
    }
  }
  return out;
}

/**
 * Drift for settle and rebuild to repair: adds `by` to the first counter of the first roll-up the
 * filter selects (a count off, as a lost or doubled increment leaves it). Returns the path changed.
 */
export async function driftRollup(
  rollups: Collection<StatsRollupDocument>,
  filter: Filter<StatsRollupDocument>,
  by: number,
): Promise<string> {
  const doc = await rollups.findOne(filter);
  const [app, counts] = Object.entries(doc?.a ?? {})[0] ?? [];
  const [metric, keys] = Object.entries(counts ?? {})[0] ?? [];
  const [key] = Object.keys(keys ?? {});
  if (doc === null || app === undefined || metric === undefined || key === undefined) {
    throw new Error('no roll-up counter to drift');
  }
  const path = `a.${app}.${metric}.${key}`;
  await rollups.updateOne({ _id: doc._id }, { $inc: { [path]: by } });
  return path;
}
