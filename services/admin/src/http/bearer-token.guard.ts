import type { RelayConfig } from '@ser/config';
import { requireSetting } from '@ser/config';
import { CONFIG } from '@ser/runtime';
import { constantTimeEquals } from '@ser/security';
import { Inject, Injectable } from '@nestjs/common';
import type { CanActivate, ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { OPERATOR_ACTOR, setActor } from './actor.decorator';
import { problems } from './problem';

/** Operator access with the bootstrap token; per-tenant API tokens come with the admin issue. */
@Injectable()
export class BearerTokenGuard implements CanActivate {
  private readonly token: string;

  constructor(@Inject(CONFIG) config: RelayConfig) {
    this.token = requireSetting(config.SER_ADMIN_TOKEN, 'SER_ADMIN_TOKEN', 'admin');
  }

  canActivate(context: ExecutionContext): boolean {
    const request = context.switchToHttp().getRequest<Request>();
    const header = request.headers.authorization ?? '';
    const match = /^Bearer ([^\s]+)$/.exec(header);
    if (match?.[1] === undefined || !constantTimeEquals(match[1], this.token)) {
      throw problems.unauthorized();
    }
    setActor(request, OPERATOR_ACTOR);
    return true;
  }
}
