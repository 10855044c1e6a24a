import { Injectable } from '@nestjs/common';
import { counterMetric } from '@ser/queue';

/** The class of the remote reply that decided a delivery attempt; `connection` when none came. */
export type ReplyClass = '2xx' | '4xx' | '5xx' | 'connection';

/**
 * The egress's Prometheus counters (docs/metrics.md). No label names a host, domain, recipient or
 * tenant: they would grow without bound.
 */
@Injectable()
export class EgressMetrics {
  private readonly attempts = counterMetric(
    'ser_delivery_attempts_total',
    'Delivery attempts to an MX or smarthost, by the class of the reply that decided them and whether TLS was in use',
    ['reply_class', 'tls'],
  );
  private readonly dnsLookups = counterMetric(
    'ser_dns_cache_lookups_total',
    "DNS questions asked of the egress's resolver cache: hit (answered from the cache or joined to the same question in flight) or miss",
    ['result'],
  );

  deliveryAttempted(replyClass: ReplyClass, tls: boolean): void {
    this.attempts.inc({ reply_class: replyClass, tls: tls ? 'yes' : 'no' });
  }

  dnsLookup(result: 'hit' | 'miss'): void {
    this.dnsLookups.inc({ result });
  }
}

/**
 * One class for a transaction's replies: a message that reached any recipient is a `2xx`
 * attempt; else a `4xx` if any recipient may still get it; else `5xx`.
 */
export function replyClassOf(codes: readonly number[]): ReplyClass {
  if (codes.some((code) => code >= 200 && code < 300)) {
    return '2xx';
  }
  if (codes.some((code) => code >= 400 && code < 500)) {
    return '4xx';
  }
  return codes.some((code) => code >= 500) ? '5xx' : 'connection';
}
