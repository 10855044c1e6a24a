import type { ParsedArgs } from '../args';
import { out, outJson, streamBody } from '../cli-io';
import { formatFields, formatTable } from '../output/table';
import type { Command, CommandContext } from './command';

/** `GET /v1/messages/{id}`: the fields the CLI shows. */
export interface MessageView {
  id: string;
  tenantId: string;
  appId?: string;
  state: string;
  reason?: string;
  headerFrom?: string;
  subject?: string;
  size?: number;
  createdAt: string;
  envelope?: { mailFrom?: string; rcptTo?: string[] };
  dkim?: { domain?: string; selector?: string };
  recipients?: { address: string; state: string; attempts?: number; lastReply?: string }[];
  timeline?: { type: string; at: string; recipient?: string; data?: Record<string, unknown> }[];
}

/** A short description of an event's data for the timeline table. */
export function eventSummary(data: Record<string, unknown> | undefined): string {
  if (data === undefined) {
    return '';
  }
  const keys = ['reason', 'reply', 'domain', 'selector', 'host', 'attempt', 'state'];
  return keys
    .filter((k) => typeof data[k] === 'string' || typeof data[k] === 'number')
    .map((k) => `${k}=${String(data[k])}`)
    .join(' ');
}

async function show(context: CommandContext, args: ParsedArgs): Promise<void> {
  const id = args.positional(0, '<messageId>');
  if (args.flag('raw')) {
    // The download is audited by the API (message.download) before the first byte.
    await streamBody(context.io, await context.api.stream(`/v1/messages/${id}/raw`, {}, 'message/rfc822'));
    return;
  }
  const message = await context.api.get<MessageView>(`/v1/messages/${id}`);
  if (context.json) {
    outJson(context.io, message);
    return;
  }
  out(
    context.io,
    formatFields([
      ['message', message.id],
      ['state', message.reason === undefined ? message.state : `${message.state} (${message.reason})`],
      ['tenant', message.tenantId],
      ['application', message.appId],
      ['from', message.headerFrom],
      ['mail from', message.envelope?.mailFrom],
      ['subject', message.subject],
      ['size', message.size],
      [
        'dkim',
        message.dkim === undefined
          ? undefined
          : `d=${message.dkim.domain ?? ''} s=${message.dkim.selector ?? ''}`,
      ],
      ['created', message.createdAt],
    ]),
  );
  out(context.io, '\nRecipients\n');
  out(
    context.io,
    formatTable(
      ['ADDRESS', 'STATE', 'ATTEMPTS', 'LAST REPLY'],
      (message.recipients ?? []).map((r) => [r.address, r.state, r.attempts, r.lastReply]),
    ),
  );
  out(context.io, '\nTimeline\n');
  out(
    context.io,
    formatTable(
      ['AT', 'EVENT', 'RECIPIENT', 'DETAILS'],
      (message.timeline ?? []).map((e) => [e.at, e.type, e.recipient, eventSummary(e.data)]),
    ),
  );
}

/** `ser messages show <id> [--raw]`. */
export const messagesShowCommand: Command = {
  words: ['messages', 'show'],
  positionals: ['<messageId>'],
  summary: 'a message with its recipients and timeline; --raw writes the message/rfc822 to stdout',
  options: { raw: { type: 'boolean', description: 'write the message as sent (signature + body); audited' } },
  run: show,
};
