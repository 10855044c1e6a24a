import { Controller, Get, Param } from '@nestjs/common';
import { Access } from '../auth/access.decorator';
import { DnsHealthService } from './dns-health.service';

@Controller('v1')
export class DnsHealthController {
  constructor(private readonly health: DnsHealthService) {}

  @Get('domains/:domainId/dns-check')
  @Access('read')
  check(@Param('domainId') domainId: string) {
    return this.health.check(domainId);
  }
}
