import type { ParsedArgs } from '../args';
import { out, outJson, streamBody } from '../cli-io';
import { formatTable } from '../output/table';
import type { Cell } from '../output/table';
import type { Command, CommandContext } from './command';

interface Counted {
  count: number;
}

/** `GET /v1/reports/summary` (docs/api.md, "Reports"). */
export interface SummaryView {
  tenantId: string;
  appId?: string;
  from: string;
  to: string;
  tz: string;
  counts: Record<string, number | Record<string, number>>;
  topFailingDomains: (Counted & { domain: string })[];
  senders: { headerFrom: (Counted & { address: string })[]; envelope: (Counted & { address: string })[] };
  refusedIps: (Counted & { ip: string })[];
}

/** The summary as one METRIC/KEY/COUNT table, in the order of the API's CSV. */
export function summaryRows(summary: SummaryView): Cell[][] {
  const rows: Cell[][] = [];
  for (const [metric, value] of Object.entries(summary.counts)) {
    if (typeof value === 'number') {
      rows.push([metric, '', value]);
    } else {
      rows.push(...Object.entries(value).map(([key, count]): Cell[] => [metric, key, count]));
    }
  }
  rows.push(...summary.topFailingDomains.map((d): Cell[] => ['failing_domain', d.domain, d.count]));
  rows.push(...summary.senders.headerFrom.map((s): Cell[] => ['sender_from', s.address, s.count]));
  rows.push(...summary.senders.envelope.map((s): Cell[] => ['sender_envelope', s.address, s.count]));
  rows.push(...summary.refusedIps.map((r): Cell[] => ['refused_ip', r.ip, r.count]));
  return rows;
}

async function report(context: CommandContext, args: ParsedArgs): Promise<void> {
  const query = {
    tenantId: args.required('tenant'),
    appId: args.string('app'),
    from: args.required('from'),
    to: args.required('to'),
    tz: args.string('tz'),
  };
  if (args.flag('csv')) {
    // The API's RFC 4180 CSV, byte for byte: formula-safe cells and CRLF as it sends them.
    await streamBody(
      context.io,
      await context.api.stream('/v1/reports/summary', { ...query, format: 'csv' }, 'text/csv'),
    );
    return;
  }
  const summary = await context.api.get<SummaryView>('/v1/reports/summary', query);
  if (context.json) {
    outJson(context.io, summary);
    return;
  }
  const scope = summary.appId === undefined ? summary.tenantId : `${summary.tenantId} / ${summary.appId}`;
  out(context.io, `${scope}  ${summary.from} – ${summary.to} (UTC; tz ${summary.tz})\n\n`);
  out(context.io, formatTable(['METRIC', 'KEY', 'COUNT'], summaryRows(summary)));
}

/** `ser report --tenant <id> [--app <id>] --from <date> --to <date> [--tz <zone>] [--csv]`. */
export const reportCommand: Command = {
  words: ['report'],
  summary: 'counts of a tenant or application over a period (table, --json, or the API CSV with --csv)',
  options: {
    tenant: { type: 'string', required: true, value: '<ten_id>', description: 'the tenant' },
    app: { type: 'string', value: '<app_id>', description: 'one application only' },
    from: {
      type: 'string',
      required: true,
      value: '<date>',
      description: 'start, included (2026-11-01, or a date-time)',
    },
    to: { type: 'string', required: true, value: '<date>', description: 'end, excluded' },
    tz: {
      type: 'string',
      value: '<zone>',
      description: 'IANA time zone for dates without an offset (default UTC)',
    },
    csv: { type: 'boolean', description: 'write the API CSV to stdout' },
  },
  notes:
    'Example: ser report --tenant ten_… --from 2026-11-01 --to 2026-12-01 --tz Europe/Zurich --csv > nov.csv',
  run: report,
};
