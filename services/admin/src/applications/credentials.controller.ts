import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { Access } from '../auth/access.decorator';
import { parseBody } from '../http/parse-body';
import { createCredentialSchema, revokeCredentialSchema } from './applications.schemas';
import { CredentialsService } from './credentials.service';

@Controller('v1')
export class CredentialsController {
  constructor(private readonly credentials: CredentialsService) {}

  @Post('applications/:appId/credentials')
  @Access('manage')
  createCredential(@Param('appId') appId: string, @Body() body: unknown) {
    return this.credentials.createCredential(appId, parseBody(createCredentialSchema, body));
  }

  @Get('applications/:appId/credentials')
  @Access('manage')
  listCredentials(@Param('appId') appId: string) {
    return this.credentials.listCredentials(appId);
  }

  @Post('credentials/:credentialId/revoke')
  @Access('manage')
  @HttpCode(200)
  revokeCredential(@Param('credentialId') credentialId: string, @Body() body: unknown) {
    parseBody(revokeCredentialSchema, body);
    return this.credentials.revokeCredential(credentialId);
  }

  /** The same as `POST …/revoke`, under the path the API contract names. */
  @Delete('credentials/:credentialId')
  @Access('manage')
  deleteCredential(@Param('credentialId') credentialId: string) {
    return this.credentials.revokeCredential(credentialId);
  }
}
