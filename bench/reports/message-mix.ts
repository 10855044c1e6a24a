import type { EventType } from '@ser/contracts';
import { HOUR_MS } from '@ser/data';
import { Prng } from '../support/prng';

/** An event as the relay's services publish it, without the id (only stored raw events need one). */
export interface MixEvent {
  type: EventType;
  at: Date;
  tenantId?: string;
  appId?: string;
  recipient?: string;
  data: Record<string, unknown>;
}

/**
 * What the generator decided, counted as it decided it (not derived from the events): the ground
 * truth the reports are checked against. Per application, per hour of the period.
 */
export type TruthMetric = 'relay_requests' | 'accepted' | 'delivered';
export type Truth = Record<TruthMetric, Map<string, Int32Array>>;

export interface MixOptions {
  tenantId: string;
  /** Applications and their share of the traffic. */
  apps: readonly { appId: string; weight: number }[];
  messages: number;
  /** Start of the period (a UTC hour) and its length in hours; every event falls inside it. */
  from: Date;
  hours: number;
  seed: number;
}

const REFUSAL_REASONS = ['rate_limited', 'bulk', 'sender_policy', 'too_big'] as const;
const REFUSAL_WEIGHTS = [50, 20, 15, 15] as const;
const HELD_REASONS = ['dkim_key_missing', 'av_unavailable', 'as_unavailable'] as const;
const HELD_WEIGHTS = [70, 20, 10] as const;
const SENDER_LOCALS = ['noreply', 'billing', 'alerts', 'News'] as const;
const SENDER_WEIGHTS = [60, 20, 15, 5] as const;
/** Recipient domains, a few big ones and a long tail, so failing-domain top lists are realistic. */
const RECIPIENT_DOMAINS = 300;

/** Creates the per-hour ground-truth arrays for the period. */
export function emptyTruth(): Truth {
  return { relay_requests: new Map(), accepted: new Map(), delivered: new Map() };
}

/**
 * A deterministic month of one tenant's traffic: refusals at submission, scanner verdicts, holds,
 * and per recipient deliveries, deferrals, bounces, expiries and suppressions, in proportions of a
 * healthy transactional sender. Calls `emit` for every event in message order; counts the truth.
 */
export function generateMix(options: MixOptions, truth: Truth, emit: (event: MixEvent) => void): void {
  const rng = new Prng(options.seed);
  const start = options.from.getTime();
  const end = start + options.hours * HOUR_MS;
  const count = (metric: TruthMetric, appId: string, at: Date): void => {
    let hours = truth[metric].get(appId);
    if (hours === undefined) {
      hours = new Int32Array(options.hours);
      truth[metric].set(appId, hours);
    }
    const index = Math.floor((at.getTime() - start) / HOUR_MS);
    hours[index] = (hours[index] ?? 0) + 1;
  };
  const apps = options.apps.map((a) => a.appId);
  const weights = options.apps.map((a) => a.weight);
  for (let i = 0; i < options.messages; i += 1) {
    const appId = rng.pick(apps, weights);
    const at = new Date(start + rng.int(end - start));
    // Later events of a message: minutes to hours after it, but inside the period, so the truth
    // of the period is exactly what the generator decided.
    const later = (maxMinutes: number): Date =>
      new Date(Math.min(end - 1, at.getTime() + rng.int(maxMinutes * 60_000)));
    const base = { tenantId: options.tenantId, appId };
    const r = rng.next();
    if (r < 0.025) {
      count('relay_requests', appId, at);
      if (r < 0.005) {
        const reason = rng.next() < 0.7 ? 'invalid_address' : 'sender_policy';
        emit({ ...base, type: 'envelope.refused', at, data: { command: 'MAIL', reason } });
      } else {
        const reason = rng.pick(REFUSAL_REASONS, REFUSAL_WEIGHTS);
        emit({ ...base, type: 'message.refused', at, data: { reason, reply: '550 5.7.1 refused' } });
      }
      continue;
    }
    count('relay_requests', appId, at);
    count('accepted', appId, at);
    const senderDomain = `${appId.slice(-6)}.sender.example`;
    const headerFrom = `${rng.pick(SENDER_LOCALS, SENDER_WEIGHTS)}@${senderDomain}`;
    const mailFrom = `bounce-${String(rng.int(2))}@${senderDomain}`;
    const recipients = rng.pick([1, 2, 3], [70, 20, 10]);
    emit({ ...base, type: 'message.accepted', at, data: { size: 12_000, mailFrom, headerFrom, recipients } });
    const verdict = rng.next();
    if (verdict < 0.0055) {
      const type =
        verdict < 0.003
          ? 'message.rejected_spam'
          : verdict < 0.0035
            ? 'message.rejected_av'
            : 'message.rejected_policy';
      emit({ ...base, type, at: later(1), data: {} });
      continue;
    }
    if (verdict < 0.0105) {
      emit({ ...base, type: 'message.quarantined', at: later(1), data: { reason: 'spam' } });
      continue;
    }
    if (verdict < 0.0125) {
      const reason = rng.pick(HELD_REASONS, HELD_WEIGHTS);
      emit({ ...base, type: 'message.held', at: later(1), data: { reason } });
      continue;
    }
    for (let n = 0; n < recipients; n += 1) {
      // Skewed towards a few domains: r³ puts most recipients on the first few.
      const domain = `d${String(Math.floor(RECIPIENT_DOMAINS * rng.next() ** 3))}.example`;
      const recipient = `user${String(rng.int(50_000))}@${domain}`;
      const outcome = rng.next();
      const deliveryEvent = (type: EventType, minutes: number): void =>
        emit({ ...base, type, at: later(minutes), recipient, data: { attempt: 1 } });
      if (outcome < 0.04) {
        deliveryEvent('delivery.deferred', 5);
      }
      if (outcome < 0.93) {
        const deliveredAt = later(outcome < 0.04 ? 60 : 2);
        count('delivered', appId, deliveredAt);
        emit({ ...base, type: 'delivery.succeeded', at: deliveredAt, recipient, data: { reply: '250 ok' } });
      } else if (outcome < 0.98) {
        deliveryEvent('delivery.bounced', 2);
      } else if (outcome < 0.99) {
        deliveryEvent('delivery.deferred', 5);
        deliveryEvent('delivery.expired', 600);
      } else {
        deliveryEvent('delivery.suppressed', 1);
      }
    }
  }
}

/**
 * Relay-wide refusals (failed logins, too many connections): these carry no tenant, so they land
 * in the relay-wide buckets (tenant `''`) like in production, as noise around the measured tenant.
 */
export function generateRelayWide(
  from: Date,
  hours: number,
  perHour: number,
  seed: number,
  emit: (event: MixEvent) => void,
): void {
  const rng = new Prng(seed);
  for (let h = 0; h < hours; h += 1) {
    for (let i = 0; i < perHour; i += 1) {
      const at = new Date(from.getTime() + h * HOUR_MS + rng.int(HOUR_MS));
      const clientIp = `198.51.100.${String(rng.int(250))}`;
      if (rng.next() < 0.8) {
        emit({ type: 'auth.failed', at, data: { reason: 'wrong_secret', clientIp, username: 'app_x' } });
      } else {
        emit({ type: 'session.refused', at, data: { reason: 'ip_connections', clientIp } });
      }
    }
  }
}
