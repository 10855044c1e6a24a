import { EventRepository, MessageRepository, TenantConfigRepository } from '@ser/data';
import type { MessageDocument } from '@ser/data';
import type { Logger } from '@ser/logger';
import { LOGGER } from '@ser/runtime';
import { Controller, Get, Inject, Param, Query, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { pipeline } from 'node:stream/promises';
import { Actor } from '../http/actor.decorator';
import { Access } from '../auth/access.decorator';
import { pageOf } from '../http/page';
import { parseQuery } from '../http/parse-body';
import { orNotFound, problems } from '../http/problem';
import { MessageSampleService } from './message-sample.service';
import { messageId as messageIdSchema, messageSearchSchema } from './message-search.schemas';

/** Message search, a message with its timeline, and its raw sample (access per route: auth/access.guard.ts). */
@Controller('v1/messages')
export class MessagesController {
  constructor(
    @Inject(LOGGER) private readonly logger: Logger,
    private readonly messages: MessageRepository,
    private readonly events: EventRepository,
    private readonly tenants: TenantConfigRepository,
    private readonly samples: MessageSampleService,
  ) {}

  @Get()
  @Access('read')
  async search(@Query() query: unknown) {
    const { tenantId, status, limit, cursor, ...filters } = parseQuery(messageSearchSchema, query);
    orNotFound(await this.tenants.findTenant(tenantId), 'tenant');
    // One more than the page: its presence says whether a next page exists.
    const found = await this.messages.search(
      { tenantId, state: status, before: cursor, ...filters },
      limit + 1,
    );
    const { page, nextCursor } = pageOf(found, limit, (message) => message._id);
    return { items: page.map(searchItem), nextCursor };
  }

  @Get(':messageId')
  @Access('read')
  async get(@Param('messageId') id: string) {
    const messageId = parseMessageId(id);
    const message = await this.messages.findById(messageId);
    if (message === null) {
      await this.samples.throwIfDeleted(messageId);
      throw problems.notFound('message');
    }
    const [recipients, timeline] = await Promise.all([
      this.messages.recipientsFor(messageId),
      this.events.timeline(message.tenantId, messageId),
    ]);
    const { _id, dkim, ...rest } = message;
    return {
      id: _id,
      // `status` is the contract's name for the message's state; `state` stays for existing clients.
      status: rest.state,
      ...rest,
      dkim:
        dkim === undefined ? undefined : { domain: dkim.domain, selector: dkim.selector, keyId: dkim.keyId },
      recipients: recipients.map((r) => ({
        address: r.address,
        state: r.state,
        attempts: r.attempts,
        lastReply: r.lastReply,
        nextAttemptAt: r.nextAttemptAt,
        ambiguousAttempts: r.ambiguousAttempts,
      })),
      timeline: timeline.map((e) => ({
        id: e._id,
        type: e.type,
        at: e.at,
        recipient: e.recipient,
        data: e.data,
      })),
    };
  }

  /** The message as egress sends it, as a `.eml` attachment; audited before streaming. */
  @Get(':messageId/raw')
  @Access('sample')
  async raw(
    @Param('messageId') id: string,
    @Actor() actor: string,
    @Req() request: Request,
    @Res() response: Response,
  ): Promise<void> {
    const messageId = parseMessageId(id);
    const sample = await this.samples.open(messageId, { actor, ip: request.ip });
    response.status(200).set({
      'content-type': 'message/rfc822',
      'content-disposition': `attachment; filename="${messageId}.eml"`,
      'cache-control': 'no-store',
    });
    try {
      await pipeline(sample.stream, response);
    } catch (err) {
      // Headers are gone: all that is left is to cut the response short (pipeline did).
      this.logger.warn(
        {
          code: 'ADMIN_SAMPLE_STREAM_FAILED',
          messageId,
          tenantId: sample.tenantId,
          appId: sample.appId,
          err,
        },
        'sample download cut short',
      );
    }
  }
}

/** A message id from the path, refused with a 400 unless it has the shape of one. */
function parseMessageId(id: string): string {
  if (!messageIdSchema.safeParse(id).success) {
    throw problems.invalid([{ path: 'messageId', message: 'not a message id' }]);
  }
  return id;
}

/** Picks the listed fields one by one: never the DKIM signature, the client or the credential. */
function searchItem(m: MessageDocument) {
  return {
    id: m._id,
    tenantId: m.tenantId,
    appId: m.appId,
    status: m.state,
    state: m.state,
    headerFrom: m.headerFrom,
    mailFrom: m.envelope.mailFrom,
    rcptTo: m.envelope.rcptTo,
    subject: m.subject,
    size: m.size,
    createdAt: m.createdAt,
    updatedAt: m.updatedAt,
  };
}
