import { Controller, Get, Param, UseGuards } from '@nestjs/common';
import { BearerTokenGuard } from '../http/bearer-token.guard';
import { DnsHealthService } from './dns-health.service';

@Controller('v1')
@UseGuards(BearerTokenGuard)
export class DnsHealthController {
  constructor(private readonly health: DnsHealthService) {}

  @Get('domains/:domainId/dns-check')
  check(@Param('domainId') domainId: string) {
    return this.health.check(domainId);
  }
}
