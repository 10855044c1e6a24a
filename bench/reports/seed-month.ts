import { newMessageId } from '@ser/contracts';
import type { EventDocument, StatMetric, StatsRollupDocument } from '@ser/data';
import { COLLECTIONS, dayOf, hourOf, RollupBuilder } from '@ser/data';
import type { Collection, Db, OptionalUnlessRequiredId } from 'mongodb';
import { performance } from 'node:perf_hooks';
// The projection's own mapping from event to counters, so the seeded roll-ups are the ones the
// reporting service would have written. The service's index does not export it (bench/ belongs to
// no Nx project, so no boundary rule applies; see docs/performance.md).
import { metricsOf } from '../../services/reporting/src/projection/metrics';
import { emptyTruth, generateMix, generateRelayWide } from './message-mix';
import type { MixEvent, Truth } from './message-mix';

/** A tenant to seed: its applications (with their share of its traffic) and its message count. */
export interface SeedTenant {
  tenantId: string;
  apps: readonly { appId: string; weight: number }[];
  messages: number;
}

export interface SeedPlan {
  /** The measured tenant; its truth is returned. */
  target: SeedTenant;
  /** Other tenants in the same collection, so the queries must pick the right documents. */
  noise: readonly SeedTenant[];
  from: Date;
  hours: number;
  /** Raw events of the measured tenant stored in `events` (a small sample, not all of them). */
  rawEvents: number;
  /** Relay-wide refusals per hour (tenant `''`). */
  relayWidePerHour: number;
  seed: number;
}

export interface SeedResult {
  truth: Truth;
  events: number;
  /** The roll-ups inserted (every tenant's). */
  documents: StatsRollupDocument[];
  rawEvents: number;
  generateMs: number;
  insertMs: number;
}

const INSERT_BATCH = 500;

/** Generates the month, derives its roll-ups in memory and bulk-inserts them (and a raw sample). */
export async function seedMonth(db: Db, plan: SeedPlan): Promise<SeedResult> {
  const started = performance.now();
  const builder = new RollupBuilder();
  const raw: EventDocument[] = [];
  let events = 0;
  let messageId = '';
  const project = (event: MixEvent): void => {
    events += 1;
    const metrics = metricsOf(event);
    builder.add(event.tenantId ?? '', event.appId ?? '', hourOf(event.at), metrics);
    if (event.tenantId === plan.target.tenantId && raw.length < plan.rawEvents) {
      if (
        event.type === 'message.accepted' ||
        event.type === 'message.refused' ||
        event.type === 'envelope.refused'
      ) {
        messageId = newMessageId(event.at.getTime());
      }
      raw.push(rawEvent(event, messageId, raw.length, metrics));
    }
  };
  const truth = emptyTruth();
  generateMix({ ...plan.target, from: plan.from, hours: plan.hours, seed: plan.seed }, truth, project);
  plan.noise.forEach((tenant, i) => {
    generateMix(
      { ...tenant, from: plan.from, hours: plan.hours, seed: plan.seed + i + 1 },
      emptyTruth(),
      project,
    );
  });
  generateRelayWide(plan.from, plan.hours, plan.relayWidePerHour, plan.seed - 1, project);
  // In the order the live projection creates them: as time passes, every tenant's roll-ups of an
  // hour (and of a day, at its first hour) interleaved. FerretDB (SQLite) finds a document by `_id`
  // by scanning the table from its first row, so where a tenant's roll-ups sit in the table is
  // what a lookup costs there (docs/performance.md); seeding one tenant after the other would flatter it.
  const documents = builder
    .documents()
    .sort((a, b) => a.bucket.getTime() - b.bucket.getTime() || (a.granularity === 'day' ? -1 : 1));
  const generated = performance.now();
  await insertAll(db.collection<StatsRollupDocument>(COLLECTIONS.statsRollups), documents);
  await insertAll(db.collection<EventDocument>(COLLECTIONS.events), raw);
  return {
    truth,
    events,
    documents,
    rawEvents: raw.length,
    generateMs: Math.round(generated - started),
    insertMs: Math.round(performance.now() - generated),
  };
}

/** The event as `StatsRepository.record` stores it: its id as `_id`, its counters already applied. */
function rawEvent(event: MixEvent, messageId: string, seq: number, metrics: StatMetric[]): EventDocument {
  const tenantId = event.tenantId ?? '';
  const appId = event.appId ?? '';
  return {
    _id: `${messageId}.${event.type}.${String(seq)}`,
    v: 1,
    type: event.type,
    at: event.at,
    tenantId: event.tenantId,
    appId: event.appId,
    messageId,
    ...(event.recipient === undefined ? {} : { recipient: event.recipient }),
    data: event.data,
    stats: {
      tenantId,
      appId,
      hour: hourOf(event.at),
      day: dayOf(event.at),
      metrics,
      applied: true,
      recordedAt: event.at,
    },
  };
}

async function insertAll<T extends { _id: string }>(
  collection: Collection<T>,
  documents: readonly T[],
): Promise<void> {
  for (let i = 0; i < documents.length; i += INSERT_BATCH) {
    const batch = documents.slice(i, i + INSERT_BATCH) as OptionalUnlessRequiredId<T>[];
    await collection.insertMany(batch, { ordered: false });
  }
}
