import { EventRepository, MessageRepository } from '@ser/data';
import { Controller, Get, Param, UseGuards } from '@nestjs/common';
import { BearerTokenGuard } from '../http/bearer-token.guard';
import { problems } from '../http/problem';

/** A message, its per-recipient status and its timeline (operators; tenant scoping follows). */
@Controller('v1/messages')
@UseGuards(BearerTokenGuard)
export class MessagesController {
  constructor(
    private readonly messages: MessageRepository,
    private readonly events: EventRepository,
  ) {}

  @Get(':messageId')
  async get(@Param('messageId') messageId: string) {
    const message = await this.messages.findById(messageId);
    if (message === null) {
      throw problems.notFound('message');
    }
    const [recipients, timeline] = await Promise.all([
      this.messages.recipientsFor(messageId),
      this.events.timeline(message.tenantId, messageId),
    ]);
    const { _id, dkim, ...rest } = message;
    return {
      id: _id,
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
}
