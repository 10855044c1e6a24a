import { Body, Controller, Get, HttpCode, Param, Post, UseGuards } from '@nestjs/common';
import { BearerTokenGuard } from '../http/bearer-token.guard';
import { parseBody } from '../http/parse-body';
import { createCredentialSchema, revokeCredentialSchema } from './applications.schemas';
import { CredentialsService } from './credentials.service';

@Controller('v1')
@UseGuards(BearerTokenGuard)
export class CredentialsController {
  constructor(private readonly credentials: CredentialsService) {}

  @Post('applications/:appId/credentials')
  createCredential(@Param('appId') appId: string, @Body() body: unknown) {
    return this.credentials.createCredential(appId, parseBody(createCredentialSchema, body));
  }

  @Get('applications/:appId/credentials')
  listCredentials(@Param('appId') appId: string) {
    return this.credentials.listCredentials(appId);
  }

  @Post('credentials/:credentialId/revoke')
  @HttpCode(200)
  revokeCredential(@Param('credentialId') credentialId: string, @Body() body: unknown) {
    parseBody(revokeCredentialSchema, body);
    return this.credentials.revokeCredential(credentialId);
  }
}
