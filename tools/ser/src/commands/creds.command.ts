import type { CredentialView, NewCredentialView } from '../api-types';
import type { ParsedArgs } from '../args';
import { out, outJson, progress } from '../cli-io';
import { formatFields, formatTable } from '../output/table';
import type { Command, CommandContext } from './command';

async function rotate(context: CommandContext, args: ParsedArgs): Promise<void> {
  const { api, io } = context;
  const appId = args.required('app');
  const before = await api.get<CredentialView[]>(`/v1/applications/${appId}/credentials`);
  const old = before.filter((c) => c.status === 'active');
  // The new credential exists before any old one is revoked: the sender is never left without one.
  const created = await api.post<NewCredentialView>(`/v1/applications/${appId}/credentials`);
  progress(io, `✓ credential ${created.id} ${created.username}`);
  const revoked: string[] = [];
  if (args.flag('revoke-old')) {
    for (const credential of old) {
      await api.post<CredentialView>(`/v1/credentials/${credential.id}/revoke`);
      revoked.push(credential.id);
      progress(io, `✓ revoked ${credential.id} ${credential.username}`);
    }
  }
  const kept = old.filter((c) => !revoked.includes(c.id)).map((c) => c.id);
  if (context.json) {
    outJson(io, {
      credential: { id: created.id, username: created.username, password: created.password },
      revoked,
      stillActive: kept,
    });
    return;
  }
  out(
    io,
    formatFields([
      ['credential', created.id],
      ['username', created.username],
      ['password', created.password],
    ]),
  );
  out(io, '^ the password is shown once: store it now\n');
  if (kept.length > 0) {
    out(io, `\nStill active: ${kept.join(', ')}\n`);
    out(io, 'Move the sender to the new credential, check their last use, then revoke each:\n');
    out(io, `  ser creds list --app ${appId}\n${kept.map((id) => `  ser creds revoke ${id}\n`).join('')}`);
  }
}

/** `ser creds rotate --app <id> [--revoke-old]`. */
export const credsRotateCommand: Command = {
  words: ['creds', 'rotate'],
  summary: 'create a new SMTP credential for an application; --revoke-old revokes the old ones after',
  options: {
    app: { type: 'string', required: true, value: '<app_id>', description: 'the application' },
    'revoke-old': {
      type: 'boolean',
      description: 'revoke the previously active credentials after creating the new one',
    },
  },
  run: rotate,
};

async function list(context: CommandContext, args: ParsedArgs): Promise<void> {
  const credentials = await context.api.get<CredentialView[]>(
    `/v1/applications/${args.required('app')}/credentials`,
  );
  if (context.json) {
    outJson(context.io, credentials);
    return;
  }
  out(
    context.io,
    formatTable(
      ['ID', 'USERNAME', 'STATUS', 'CREATED', 'EXPIRES', 'LAST USED', 'LAST IP'],
      credentials.map((c) => [
        c.id,
        c.username,
        c.status,
        c.createdAt,
        c.expiresAt,
        c.lastUsedAt,
        c.lastUsedIp,
      ]),
    ),
  );
}

async function revoke(context: CommandContext, args: ParsedArgs): Promise<void> {
  const credential = await context.api.post<CredentialView>(
    `/v1/credentials/${args.positional(0, '<credentialId>')}/revoke`,
  );
  if (context.json) {
    outJson(context.io, credential);
    return;
  }
  out(context.io, `${credential.id} ${credential.username} ${credential.status}\n`);
}

/** `ser creds list --app <id>`. */
export const credsListCommand: Command = {
  words: ['creds', 'list'],
  summary: "list an application's credentials (never passwords) with their last use",
  options: { app: { type: 'string', required: true, value: '<app_id>', description: 'the application' } },
  run: list,
};

/** `ser creds revoke <credentialId>`. */
export const credsRevokeCommand: Command = {
  words: ['creds', 'revoke'],
  positionals: ['<credentialId>'],
  summary: 'revoke a credential for good',
  options: {},
  run: revoke,
};
