import { Body, Controller, Delete, Get, Param, Post, Query } from '@nestjs/common';
import { Access } from '../auth/access.decorator';
import { Caller } from '../http/actor.decorator';
import type { Principal } from '../http/actor.decorator';
import { parseBody, parseQuery } from '../http/parse-body';
import { ApiTokensService } from './api-tokens.service';
import { createTokenSchema, listTokensSchema } from './tokens.schemas';

/** API tokens: operators manage all; a tenant admin those of its tenant (never operator tokens). */
@Controller('v1/tokens')
export class TokensController {
  constructor(private readonly tokens: ApiTokensService) {}

  @Post()
  @Access('manage', { ownTenant: true })
  create(@Body() body: unknown, @Caller() caller: Principal) {
    return this.tokens.issue(caller, parseBody(createTokenSchema, body));
  }

  @Get()
  @Access('manage', { ownTenant: true })
  list(@Query() query: unknown, @Caller() caller: Principal) {
    const { limit, ...filter } = parseQuery(listTokensSchema, query);
    return this.tokens.list(caller, filter, limit);
  }

  @Delete(':tokenId')
  @Access('manage')
  revoke(@Param('tokenId') tokenId: string, @Caller() caller: Principal) {
    return this.tokens.revoke(caller, tokenId);
  }
}
