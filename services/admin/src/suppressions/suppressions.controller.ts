import { Body, Controller, Delete, Get, HttpCode, Param, Post, Query } from '@nestjs/common';
import { Actor } from '../http/actor.decorator';
import { Access } from '../auth/access.decorator';
import { parseBody, parseQuery } from '../http/parse-body';
import { problems } from '../http/problem';
import { createSuppressionSchema, suppressedAddress, suppressionsQuerySchema } from './suppressions.schemas';
import { SuppressionsService } from './suppressions.service';

/** A tenant's suppression list: recipients egress does not send to (access per route: auth/access.guard.ts). */
@Controller('v1/tenants/:tenantId/suppressions')
export class SuppressionsController {
  constructor(private readonly suppressions: SuppressionsService) {}

  @Get()
  @Access('read')
  list(@Param('tenantId') tenantId: string, @Query() query: unknown) {
    return this.suppressions.list(tenantId, parseQuery(suppressionsQuerySchema, query));
  }

  @Post()
  @Access('manage')
  add(@Param('tenantId') tenantId: string, @Body() body: unknown, @Actor() actor: string) {
    return this.suppressions.add(tenantId, parseBody(createSuppressionSchema, body), actor);
  }

  @Get(':address')
  @Access('read')
  get(@Param('tenantId') tenantId: string, @Param('address') address: string) {
    return this.suppressions.get(tenantId, pathAddress(address));
  }

  @Delete(':address')
  @Access('manage')
  @HttpCode(204)
  async remove(
    @Param('tenantId') tenantId: string,
    @Param('address') address: string,
    @Actor() actor: string,
  ): Promise<void> {
    await this.suppressions.remove(tenantId, pathAddress(address), actor);
  }
}

/** The address in the path, validated like a body's: `400` with path `address` when it is not a mailbox. */
function pathAddress(address: string): string {
  const parsed = suppressedAddress.safeParse(address);
  if (!parsed.success) {
    throw problems.invalid(parsed.error.issues.map((issue) => ({ path: 'address', message: issue.message })));
  }
  return parsed.data;
}
