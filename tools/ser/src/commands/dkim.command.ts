import type { DkimKeyView } from '../api-types';
import type { ParsedArgs } from '../args';
import { out, outJson, progress } from '../cli-io';
import { quotedTxt } from '../output/dns-record-text';
import { formatFields, formatTable } from '../output/table';
import { ProblemError } from '../problem';
import { CliError } from '../cli-error';
import type { Command, CommandContext } from './command';

async function rotate(context: CommandContext, args: ParsedArgs): Promise<void> {
  const { api, io } = context;
  const domainId = args.required('domain');
  const algorithm = args.choice('algorithm', ['rsa', 'ed25519'] as const, 'rsa');
  const before = await api.get<DkimKeyView[]>(`/v1/domains/${domainId}/dkim-keys`);
  const old = before.filter((k) => k.status === 'active' && k.algorithm === algorithm);
  const key = await api.post<DkimKeyView>(`/v1/domains/${domainId}/dkim-keys`, { algorithm });
  progress(io, `✓ dkim key ${key.id} selector ${key.selector} (${key.status})`);
  const steps = [
    `publish the record above next to the current one and wait for DNS`,
    `ser dkim activate ${key.id}`,
    ...old.map(
      (k) =>
        `ser dkim retire ${k.id}, and keep ${k.dnsRecord.name} published for SER_EGRESS_MAX_AGE (5 days by default) before removing it: deferred messages are retried with their old signature`,
    ),
  ];
  if (context.json) {
    outJson(io, { key, previousActiveKeys: old.map((k) => k.id), nextSteps: steps });
    return;
  }
  out(
    io,
    formatFields([
      ['key', key.id],
      ['selector', key.selector],
      ['algorithm', key.algorithm],
      ['status', key.status],
    ]),
  );
  out(io, `\nDNS record to publish\n  ${key.dnsRecord.name}.  IN TXT  ${quotedTxt(key.dnsRecord)}\n`);
  out(io, `\nNext steps\n${steps.map((s, i) => `  ${i + 1}. ${s}\n`).join('')}`);
}

async function activate(context: CommandContext, args: ParsedArgs): Promise<void> {
  const keyId = args.positional(0, '<keyId>');
  let key: DkimKeyView;
  try {
    key = await context.api.post<DkimKeyView>(
      `/v1/dkim-keys/${keyId}/activate`,
      args.flag('force') ? { force: true } : {},
    );
  } catch (error) {
    if (error instanceof ProblemError && error.status === 422) {
      throw new CliError('api', error.message, [
        ...error.details,
        "publish the key's TXT record (ser dkim list --domain <domainId> --json has it), wait for DNS, and run this again",
      ]);
    }
    throw error;
  }
  printKey(context, key);
}

async function retire(context: CommandContext, args: ParsedArgs): Promise<void> {
  const keyId = args.positional(0, '<keyId>');
  const key = await context.api.post<DkimKeyView>(
    `/v1/dkim-keys/${keyId}/retire`,
    args.flag('force') ? { force: true } : {},
  );
  printKey(context, key);
}

function printKey(context: CommandContext, key: DkimKeyView): void {
  if (context.json) {
    outJson(context.io, key);
    return;
  }
  out(context.io, `${key.id} ${key.dnsRecord.name} ${key.status}\n`);
}

async function list(context: CommandContext, args: ParsedArgs): Promise<void> {
  const keys = await context.api.get<DkimKeyView[]>(`/v1/domains/${args.required('domain')}/dkim-keys`);
  if (context.json) {
    outJson(context.io, keys);
    return;
  }
  out(
    context.io,
    formatTable(
      ['ID', 'SELECTOR', 'ALGORITHM', 'STATUS', 'ACTIVATED', 'RECORD'],
      keys.map((k) => [k.id, k.selector, k.algorithm, k.status, k.activatedAt, k.dnsRecord.name]),
    ),
  );
}

const force = { type: 'boolean', description: 'skip the safety check (see docs/api.md)' } as const;

/** `ser dkim rotate|activate|retire|list`. */
export const dkimCommands: readonly Command[] = [
  {
    words: ['dkim', 'rotate'],
    summary: 'create the next DKIM key of a domain and print its record and the rotation steps',
    options: {
      domain: { type: 'string', required: true, value: '<dom_id>', description: 'the domain' },
      algorithm: { type: 'string', value: 'rsa|ed25519', description: 'key algorithm (default rsa)' },
    },
    run: rotate,
  },
  {
    words: ['dkim', 'activate'],
    positionals: ['<keyId>'],
    summary: 'activate a key once its TXT record is published (the API checks DNS)',
    options: { force: { ...force, description: 'activate without the DNS check (labs only)' } },
    run: activate,
  },
  {
    words: ['dkim', 'retire'],
    positionals: ['<keyId>'],
    summary: 'retire a key for good (then remove its DNS record)',
    options: { force: { ...force, description: "retire the domain's only active key" } },
    run: retire,
  },
  {
    words: ['dkim', 'list'],
    summary: "list a domain's keys",
    options: { domain: { type: 'string', required: true, value: '<dom_id>', description: 'the domain' } },
    run: list,
  },
];
