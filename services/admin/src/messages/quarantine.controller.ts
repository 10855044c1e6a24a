import { MessageRepository, TenantConfigRepository } from '@ser/data';
import type { MessageDocument } from '@ser/data';
import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { Actor } from '../http/actor.decorator';
import { Access } from '../auth/access.decorator';
import { pageOf } from '../http/page';
import { parseBody, parseQuery } from '../http/parse-body';
import { orNotFound } from '../http/problem';
import { MessageActionsService } from './message-actions.service';
import { messageActionSchema, quarantineQuerySchema } from './quarantine.schemas';

/** Quarantined and held messages, and the operator decisions on them (access per route: auth/access.guard.ts). */
@Controller('v1')
export class QuarantineController {
  constructor(
    private readonly messages: MessageRepository,
    private readonly tenants: TenantConfigRepository,
    private readonly actions: MessageActionsService,
  ) {}

  @Get('quarantine')
  @Access('read')
  async list(@Query() query: unknown) {
    const { tenantId, state, limit, cursor } = parseQuery(quarantineQuerySchema, query);
    orNotFound(await this.tenants.findTenant(tenantId), 'tenant');
    // One more than the page: its presence says whether a next page exists.
    const found = await this.messages.listInState(tenantId, state, { limit: limit + 1, before: cursor });
    const { page, nextCursor } = pageOf(found, limit, (message) => message._id);
    return { items: page.map(quarantineItem), nextCursor };
  }

  @Post('messages/:messageId/release')
  @Access('operator')
  @HttpCode(200)
  release(@Param('messageId') messageId: string, @Body() body: unknown, @Actor() actor: string) {
    parseBody(messageActionSchema, body);
    return this.actions.release(messageId, actor);
  }

  @Post('messages/:messageId/retry')
  @Access('manage')
  @HttpCode(200)
  retry(@Param('messageId') messageId: string, @Body() body: unknown, @Actor() actor: string) {
    parseBody(messageActionSchema, body);
    return this.actions.retry(messageId, actor);
  }

  @Delete('messages/:messageId')
  @Access('manage')
  @HttpCode(204)
  async delete(@Param('messageId') messageId: string, @Actor() actor: string): Promise<void> {
    await this.actions.delete(messageId, actor);
  }
}

/** Picks the listed fields one by one: never the DKIM signature, the client or the credential. */
function quarantineItem(m: MessageDocument) {
  return {
    id: m._id,
    tenantId: m.tenantId,
    appId: m.appId,
    state: m.state,
    reason: m.reason,
    headerFrom: m.headerFrom,
    envelope: m.envelope,
    subject: m.subject,
    size: m.size,
    createdAt: m.createdAt,
    updatedAt: m.updatedAt,
    scan: m.scan,
    av: m.av,
  };
}
