import type { RelayEvent } from '@ser/contracts';
import type { EventDocument, StatMetric } from '@ser/data';

/** Metric names: a contract of reports and CSV exports (docs/reporting.md). */
export const METRICS = [
  'relay_requests',
  'accepted',
  'rejected',
  'quarantined',
  'held',
  'delivered',
  'deferred',
  'bounced',
  'expired',
  'suppressed',
  'sender_from',
  'sender_envelope',
  'refused_ip',
  'failing_domain',
] as const;
export type MetricName = (typeof METRICS)[number];

type CountedEvent = Pick<RelayEvent | EventDocument, 'type' | 'data' | 'recipient'>;

/**
 * The counters an event adds 1 to. Rejection keys are the reason names the events carry
 * (`rate_limited`, `bulk`, `sender_policy`...), plus `auth_failed`, `av`, `spam` and `policy`.
 * Pure: a rebuild derives the same counters from the stored event.
 */
export function metricsOf(event: CountedEvent): StatMetric[] {
  const { data } = event;
  switch (event.type) {
    case 'message.accepted':
      return compact([
        m('relay_requests'),
        m('accepted'),
        keyed('sender_from', lower(data['headerFrom'])),
        keyed('sender_envelope', lower(data['mailFrom'])),
      ]);
    case 'message.refused':
      return [m('relay_requests'), m('rejected', reason(data))];
    case 'envelope.refused':
      return data['command'] === 'MAIL'
        ? [m('relay_requests'), m('rejected', reason(data))]
        : [m('rejected', reason(data))];
    case 'auth.failed':
      return compact([m('rejected', 'auth_failed'), keyed('refused_ip', text(data['clientIp']))]);
    case 'session.refused':
      return compact([m('rejected', reason(data)), keyed('refused_ip', text(data['clientIp']))]);
    case 'message.rejected_av':
      return [m('rejected', 'av')];
    case 'message.rejected_spam':
      return [m('rejected', 'spam')];
    case 'message.rejected_policy':
      return [m('rejected', 'policy')];
    case 'message.quarantined':
      return [m('quarantined')];
    case 'message.held':
      return [m('held', reason(data))];
    case 'delivery.succeeded':
      return [m('delivered')];
    case 'delivery.deferred':
      return [m('deferred')];
    case 'delivery.bounced':
      return compact([m('bounced'), keyed('failing_domain', domainOf(event.recipient))]);
    case 'delivery.expired':
      return compact([m('expired'), keyed('failing_domain', domainOf(event.recipient))]);
    case 'delivery.suppressed':
      return [m('suppressed')];
    default:
      return [];
  }
}

function m(metric: MetricName, key = ''): StatMetric {
  return { metric, key };
}

/** A keyed counter, or nothing when the event lacks the key (an older or malformed event). */
function keyed(metric: MetricName, key: string | undefined): StatMetric | undefined {
  return key === undefined || key === '' ? undefined : m(metric, key);
}

function compact(metrics: (StatMetric | undefined)[]): StatMetric[] {
  return metrics.filter((x): x is StatMetric => x !== undefined);
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function lower(value: unknown): string | undefined {
  return text(value)?.toLowerCase();
}

function reason(data: Record<string, unknown>): string {
  return text(data['reason']) || 'unknown';
}

function domainOf(recipient: string | undefined): string | undefined {
  const at = recipient?.lastIndexOf('@') ?? -1;
  return recipient === undefined || at < 0 ? undefined : recipient.slice(at + 1).toLowerCase();
}
