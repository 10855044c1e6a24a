import type { DomainView, Page } from '../api-types';
import type { ParsedArgs } from '../args';
import { out, outJson } from '../cli-io';
import { quotedTxt } from '../output/dns-record-text';
import { formatTable } from '../output/table';
import type { Command, CommandContext } from './command';

async function list(context: CommandContext, args: ParsedArgs): Promise<void> {
  const tenantId = args.required('tenant');
  const items: DomainView[] = [];
  let cursor: string | undefined;
  do {
    const page = await context.api.get<Page<DomainView>>(`/v1/tenants/${tenantId}/domains`, { cursor });
    items.push(...page.items);
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  if (context.json) {
    outJson(context.io, items);
    return;
  }
  out(
    context.io,
    formatTable(
      ['ID', 'NAME', 'VERIFIED', 'VERIFICATION RECORD'],
      items.map((d) => [
        d.id,
        d.name,
        d.verifiedAt,
        d.verification === undefined ? undefined : `${d.verification.name} TXT ${quotedTxt(d.verification)}`,
      ]),
    ),
  );
}

async function verify(context: CommandContext, args: ParsedArgs): Promise<void> {
  const domain = await context.api.post<DomainView>(`/v1/domains/${args.positional(0, '<domainId>')}/verify`);
  if (context.json) {
    outJson(context.io, domain);
    return;
  }
  out(context.io, `${domain.id} ${domain.name} verified at ${domain.verifiedAt ?? '?'}\n`);
}

/** `ser domains list|verify`. */
export const domainsCommands: readonly Command[] = [
  {
    words: ['domains', 'list'],
    summary: "list a tenant's domains with their verification record",
    options: { tenant: { type: 'string', required: true, value: '<ten_id>', description: 'the tenant' } },
    run: list,
  },
  {
    words: ['domains', 'verify'],
    positionals: ['<domainId>'],
    summary: 'check the published verification TXT record of a domain',
    options: {},
    run: verify,
  },
];
