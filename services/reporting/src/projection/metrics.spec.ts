import type { RelayEvent } from '@ser/contracts';
import { metricsOf } from './metrics';

function event(type: RelayEvent['type'], data: Record<string, unknown> = {}, recipient?: string): RelayEvent {
  return {
    id: 'e1',
    v: 1,
    type,
    at: '2025-03-04T05:06:07.000Z',
    tenantId: 'ten_a',
    appId: 'app_a',
    ...(recipient === undefined ? {} : { recipient }),
    data,
  };
}

describe('metricsOf', () => {
  it('counts an accepted message as a relay request with its senders, lowercased', () => {
    expect(
      metricsOf(
        event('message.accepted', { headerFrom: 'Alerts@Acme.Test', mailFrom: 'Bounce@Mail.Acme.Test' }),
      ),
    ).toEqual([
      { metric: 'relay_requests', key: '' },
      { metric: 'accepted', key: '' },
      { metric: 'sender_from', key: 'alerts@acme.test' },
      { metric: 'sender_envelope', key: 'bounce@mail.acme.test' },
    ]);
  });

  it('keys refusals by the reason the event carries', () => {
    expect(metricsOf(event('message.refused', { reason: 'rate_limited' }))).toEqual([
      { metric: 'relay_requests', key: '' },
      { metric: 'rejected', key: 'rate_limited' },
    ]);
    expect(metricsOf(event('envelope.refused', { command: 'MAIL', reason: 'auth_required' }))).toEqual([
      { metric: 'relay_requests', key: '' },
      { metric: 'rejected', key: 'auth_required' },
    ]);
    expect(metricsOf(event('envelope.refused', { command: 'RCPT', reason: 'too_many_recipients' }))).toEqual([
      { metric: 'rejected', key: 'too_many_recipients' },
    ]);
    expect(metricsOf(event('message.refused', {}))).toEqual([
      { metric: 'relay_requests', key: '' },
      { metric: 'rejected', key: 'unknown' },
    ]);
  });

  it('counts failed authentications and refused sessions per client address', () => {
    expect(metricsOf(event('auth.failed', { clientIp: '192.0.2.7', reason: 'wrong_secret' }))).toEqual([
      { metric: 'rejected', key: 'auth_failed' },
      { metric: 'refused_ip', key: '192.0.2.7' },
    ]);
    expect(metricsOf(event('session.refused', { clientIp: '192.0.2.8', reason: 'ip_connections' }))).toEqual([
      { metric: 'rejected', key: 'ip_connections' },
      { metric: 'refused_ip', key: '192.0.2.8' },
    ]);
  });

  it('maps scanner verdicts and holds', () => {
    expect(metricsOf(event('message.rejected_av', { reason: 'virus: Eicar' }))).toEqual([
      { metric: 'rejected', key: 'av' },
    ]);
    expect(metricsOf(event('message.rejected_spam', { reason: 'spam' }))).toEqual([
      { metric: 'rejected', key: 'spam' },
    ]);
    expect(metricsOf(event('message.rejected_policy', { reason: 'blocked_attachment' }))).toEqual([
      { metric: 'rejected', key: 'policy' },
    ]);
    expect(metricsOf(event('message.quarantined'))).toEqual([{ metric: 'quarantined', key: '' }]);
    expect(metricsOf(event('message.held', { reason: 'dkim_key_missing' }))).toEqual([
      { metric: 'held', key: 'dkim_key_missing' },
    ]);
  });

  it('maps delivery outcomes, with the failing recipient domain for bounces and expiries', () => {
    expect(metricsOf(event('delivery.succeeded', {}, 'a@x.test'))).toEqual([
      { metric: 'delivered', key: '' },
    ]);
    expect(metricsOf(event('delivery.deferred', {}, 'a@x.test'))).toEqual([{ metric: 'deferred', key: '' }]);
    expect(metricsOf(event('delivery.bounced', {}, 'a@Gone.Test'))).toEqual([
      { metric: 'bounced', key: '' },
      { metric: 'failing_domain', key: 'gone.test' },
    ]);
    expect(metricsOf(event('delivery.expired', {}, 'b@slow.test'))).toEqual([
      { metric: 'expired', key: '' },
      { metric: 'failing_domain', key: 'slow.test' },
    ]);
    expect(metricsOf(event('delivery.suppressed', {}, 'a@x.test'))).toEqual([
      { metric: 'suppressed', key: '' },
    ]);
  });

  it('counts nothing for other events, and leaves out keys an event lacks', () => {
    for (const type of [
      'session.connected',
      'auth.succeeded',
      'message.scanned',
      'delivery.attempted',
    ] as const) {
      expect(metricsOf(event(type))).toEqual([]);
    }
    expect(metricsOf(event('message.accepted'))).toEqual([
      { metric: 'relay_requests', key: '' },
      { metric: 'accepted', key: '' },
    ]);
    expect(metricsOf(event('delivery.bounced'))).toEqual([{ metric: 'bounced', key: '' }]);
  });

  it('derives the same counters from a stored event document', () => {
    const doc = { type: 'message.held', data: { reason: 'av_unavailable' } };
    expect(metricsOf(doc)).toEqual([{ metric: 'held', key: 'av_unavailable' }]);
  });
});
