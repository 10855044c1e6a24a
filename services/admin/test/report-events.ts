import { newMessageId } from '@ser/contracts';
import type { RelayEvent } from '@ser/contracts';
import type { EventPublisher } from '@ser/queue';

/*
 * Support of reports.int-spec.ts: a generated mix of events, the count they must give (written
 * down from the event contract, not read from the projection), and readers of the report formats.
 */

export type Counts = Record<string, Record<string, number>>;
type Top<K extends string> = ({ [P in K]: string } & { count: number })[];

export interface SummaryView {
  tenantId: string;
  appId?: string;
  from: string;
  to: string;
  tz: string;
  counts: Record<string, number | Record<string, number>>;
  topFailingDomains: Top<'domain'>;
  senders: { headerFrom: Top<'address'>; envelope: Top<'address'> };
  refusedIps: Top<'ip'>;
}

export interface ApplicationsView {
  tenantId: string;
  from: string;
  to: string;
  applications: {
    appId: string;
    name: string;
    status: string;
    counts: Record<string, number>;
    credentials: Record<string, unknown>[];
  }[];
}

/** RFC 4180: quoted fields may hold commas, doubled quotes and line breaks; records end with CRLF. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text.charAt(i);
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') {
        quoted = false;
      } else {
        field += c;
      }
    } else if (c === '"' && field === '') {
      quoted = true;
    } else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      rows.push([...row, field]);
      row = [];
      field = '';
      i++;
    } else {
      field += c;
    }
  }
  expect(field).toBe(''); // the last record ends with CRLF
  return rows;
}

export const HOUR = 3_600_000;
export const PERIOD_START = Date.parse('2026-11-10T00:00:00Z');
/** The message ids spread over these hours of the period. */
export const HOURS = 40;

/** What one generated event adds to the statistics: metric, key, appId (the expected projection). */
type Expected = { metric: string; key: string }[];

/** A generated event and what it must count, written down independently of the projection. */
export interface Generated {
  event: Parameters<EventPublisher['publish']>[0];
  counts: Expected;
}

const domainOf = (address: string): string => address.slice(address.lastIndexOf('@') + 1);

/** A deterministic mix of outcomes for one application of a tenant. */
export function generate(tenantId: string, appId: string, seed: number, n: number): Generated[] {
  const out: Generated[] = [];
  for (let i = 0; i < n; i++) {
    const at = (h: number) =>
      new Date(PERIOD_START + ((seed * 7 + i * 3 + h) % HOURS) * HOUR + 60_000).toISOString();
    const messageId = newMessageId();
    const base = { tenantId, appId, messageId };
    // Header From addresses as ingress records them (lowercase); a quoted local part may hold a
    // comma, and `=` is plain atext, so both reach the CSV.
    const headerFrom =
      [`"billing, inc"@acme${seed}.test`, `=cmd|alerts@acme${seed}.test`, `news@acme${seed}.test`][i % 3] ??
      '';
    const mailFrom = `bounce-${i % 2}@acme${seed}.test`;
    const rcpt = `user${i}@${['dest.test', 'far.test', 'gone.test'][i % 3] ?? 'dest.test'}`;
    const accepted: Generated = {
      event: {
        ...base,
        id: `${messageId}.accepted`,
        type: 'message.accepted',
        at: at(0),
        data: { size: 100, mailFrom, headerFrom, recipients: 1 },
      },
      counts: [
        { metric: 'relay_requests', key: '' },
        { metric: 'accepted', key: '' },
        { metric: 'sender_from', key: headerFrom },
        { metric: 'sender_envelope', key: mailFrom },
      ],
    };
    const outcome = i % 9;
    const recipientEvent = (type: string, suffix: string, data: Record<string, unknown>) => ({
      ...base,
      id: `${messageId}.${type}.${rcpt}${suffix}`,
      type: type as RelayEvent['type'],
      recipient: rcpt,
      at: at(1),
      data,
    });
    switch (outcome) {
      case 0:
      case 1:
      case 2:
        out.push(accepted, {
          event: recipientEvent('delivery.succeeded', '.1', { reply: '250 ok', attempt: 1, remoteMta: 'mx' }),
          counts: [{ metric: 'delivered', key: '' }],
        });
        break;
      case 3:
        out.push(
          accepted,
          {
            event: recipientEvent('delivery.deferred', '.1', {
              reply: '451 later',
              attempt: 1,
              nextAttemptAt: at(2),
            }),
            counts: [{ metric: 'deferred', key: '' }],
          },
          {
            event: recipientEvent('delivery.bounced', '.2', { reply: '550 no', attempt: 2, remoteMta: 'mx' }),
            counts: [
              { metric: 'bounced', key: '' },
              { metric: 'failing_domain', key: domainOf(rcpt) },
            ],
          },
        );
        break;
      case 4:
        out.push(accepted, {
          event: recipientEvent('delivery.expired', '.5', {
            reply: '451 later',
            attempt: 5,
            remoteMta: 'mx',
          }),
          counts: [
            { metric: 'expired', key: '' },
            { metric: 'failing_domain', key: domainOf(rcpt) },
          ],
        });
        break;
      case 5:
        out.push(accepted, {
          event: {
            ...base,
            id: `${messageId}.quarantined`,
            type: 'message.quarantined',
            at: at(1),
            data: { reason: 'spam' },
          },
          counts: [{ metric: 'quarantined', key: '' }],
        });
        break;
      case 6:
        out.push(accepted, {
          event: {
            ...base,
            id: `${messageId}.held`,
            type: 'message.held',
            at: at(1),
            data: { reason: 'dkim_key_missing', domain: 'acme.test' },
          },
          counts: [{ metric: 'held', key: 'dkim_key_missing' }],
        });
        break;
      case 7:
        out.push(accepted, {
          event: {
            ...base,
            id: `${messageId}.rejected_spam`,
            type: 'message.rejected_spam',
            at: at(1),
            data: { reason: 'spam' },
          },
          counts: [{ metric: 'rejected', key: 'spam' }],
        });
        break;
      default: {
        const clientIp = `192.0.2.${String(seed * 10 + (i % 4))}`;
        out.push(
          i % 2 === 0
            ? {
                event: {
                  ...base,
                  messageId: undefined,
                  id: `${messageId}.refused`,
                  type: 'message.refused',
                  at: at(0),
                  data: { reason: 'rate_limited', reply: '451 4.7.1 slow down', clientIp },
                },
                counts: [
                  { metric: 'relay_requests', key: '' },
                  { metric: 'rejected', key: 'rate_limited' },
                ],
              }
            : {
                event: {
                  ...base,
                  messageId: undefined,
                  id: `auth.${messageId}`,
                  type: 'auth.failed',
                  at: at(0),
                  data: { reason: 'wrong_secret', clientIp, username: 'app_x' },
                },
                counts: [
                  { metric: 'rejected', key: 'auth_failed' },
                  { metric: 'refused_ip', key: clientIp },
                ],
              },
        );
      }
    }
  }
  return out;
}

/** The independent count: metric -> key -> n over the generated events in `[from, to)`. */
export function count(generated: Generated[], from: number, to: number, appId?: string): Counts {
  const counts: Counts = {};
  for (const { event, counts: adds } of generated) {
    const at = Date.parse(event.at ?? '');
    if (at < from || at >= to || (appId !== undefined && event.appId !== appId)) {
      continue;
    }
    for (const { metric, key } of adds) {
      const byKey = (counts[metric] ??= {});
      byKey[key] = (byKey[key] ?? 0) + 1;
    }
  }
  return counts;
}

export const PLAIN = [
  'relay_requests',
  'accepted',
  'delivered',
  'deferred',
  'bounced',
  'expired',
  'suppressed',
  'quarantined',
];
export const sum = (byKey: Record<string, number> | undefined) =>
  Object.values(byKey ?? {}).reduce((a, b) => a + b, 0);
/** Highest counts first, ties by key in code unit order, at most 20. */
const top = (byKey: Record<string, number> | undefined) =>
  Object.entries(byKey ?? {})
    .sort(([ka, a], [kb, b]) => b - a || (ka < kb ? -1 : ka > kb ? 1 : 0))
    .slice(0, 20);

export function expectSummary(view: SummaryView, expected: Counts): void {
  for (const metric of PLAIN) {
    expect([metric, view.counts[metric]]).toEqual([metric, sum(expected[metric])]);
  }
  expect(view.counts['held']).toEqual(expected['held'] ?? {});
  expect(view.counts['rejected']).toEqual(expected['rejected'] ?? {});
  // Top lists in order: highest counts first, ties by key.
  const entries = (list: { count: number }[], field: string) =>
    list.map((item) => [(item as Record<string, unknown>)[field], item.count]);
  expect(entries(view.topFailingDomains, 'domain')).toEqual(top(expected['failing_domain']));
  expect(entries(view.senders.headerFrom, 'address')).toEqual(top(expected['sender_from']));
  expect(entries(view.senders.envelope, 'address')).toEqual(top(expected['sender_envelope']));
  expect(entries(view.refusedIps, 'ip')).toEqual(top(expected['refused_ip']));
}

/** A CSV cell as the report has it: the formula guard (a leading `'` before `=+-@`) undone. */
export const unguard = (cell: string): string => (/^'[=+\-@]/.test(cell) ? cell.slice(1) : cell);

/** The rows the CSV must have for a JSON summary: metric, key, count; keyless metrics with key ''. */
export function jsonAsRows(view: SummaryView): string[][] {
  const rows: string[][] = [];
  for (const [metric, value] of Object.entries(view.counts)) {
    if (typeof value === 'number') {
      rows.push([metric, '', String(value)]);
    } else {
      rows.push(...Object.entries(value).map(([key, n]) => [metric, key, String(n)]));
    }
  }
  const list = (metric: string, items: { count: number }[], field: string) =>
    rows.push(
      ...items.map((item) => [metric, String((item as Record<string, unknown>)[field]), String(item.count)]),
    );
  list('failing_domain', view.topFailingDomains, 'domain');
  list('sender_from', view.senders.headerFrom, 'address');
  list('sender_envelope', view.senders.envelope, 'address');
  list('refused_ip', view.refusedIps, 'ip');
  return rows;
}
