import type { Page } from '../api-types';
import type { ParsedArgs } from '../args';
import { out, outJson } from '../cli-io';
import { formatFields, formatTable } from '../output/table';
import type { Command, CommandContext } from './command';

interface TokenView {
  id: string;
  name: string;
  role: string;
  tenantId?: string;
  createdAt: string;
  lastUsedAt?: string;
  revokedAt?: string;
  token?: string;
}

async function create(context: CommandContext, args: ParsedArgs): Promise<void> {
  const role = args.choice('role', ['operator', 'tenant-admin', 'tenant-viewer'] as const, 'tenant-viewer');
  const tenantId = args.string('tenant');
  const token = await context.api.post<TokenView>('/v1/tokens', {
    name: args.required('name'),
    role,
    ...(tenantId === undefined ? {} : { tenantId }),
  });
  if (context.json) {
    outJson(context.io, token);
    return;
  }
  out(
    context.io,
    formatFields([
      ['id', token.id],
      ['role', token.role],
      ['tenant', token.tenantId],
      ['token', token.token],
    ]),
  );
  out(context.io, '^ the token is shown once: store it now (e.g. in a file for SER_API_TOKEN_FILE)\n');
}

async function list(context: CommandContext, args: ParsedArgs): Promise<void> {
  const items: TokenView[] = [];
  let cursor: string | undefined;
  do {
    const page = await context.api.get<Page<TokenView>>('/v1/tokens', {
      tenantId: args.string('tenant'),
      cursor,
    });
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
      ['ID', 'NAME', 'ROLE', 'TENANT', 'CREATED', 'LAST USED', 'REVOKED'],
      items.map((t) => [t.id, t.name, t.role, t.tenantId, t.createdAt, t.lastUsedAt, t.revokedAt]),
    ),
  );
}

async function revoke(context: CommandContext, args: ParsedArgs): Promise<void> {
  const token = await context.api.delete<TokenView>(`/v1/tokens/${args.positional(0, '<tokenId>')}`);
  if (context.json) {
    outJson(context.io, token);
    return;
  }
  out(context.io, `${token.id} ${token.name} revoked at ${token.revokedAt ?? '?'}\n`);
}

/** `ser tokens create|list|revoke`. */
export const tokensCommands: readonly Command[] = [
  {
    words: ['tokens', 'create'],
    summary: 'issue an API token (the secret is printed once)',
    options: {
      name: { type: 'string', required: true, value: '<name>', description: 'a name for people' },
      role: {
        type: 'string',
        value: '<role>',
        description: 'operator, tenant-admin or tenant-viewer (default)',
      },
      tenant: { type: 'string', value: '<ten_id>', description: 'the tenant of a tenant token' },
    },
    run: create,
  },
  {
    words: ['tokens', 'list'],
    summary: 'list API tokens (never secrets)',
    options: { tenant: { type: 'string', value: '<ten_id>', description: "one tenant's tokens" } },
    run: list,
  },
  {
    words: ['tokens', 'revoke'],
    positionals: ['<tokenId>'],
    summary: 'revoke an API token at once',
    options: {},
    run: revoke,
  },
];
