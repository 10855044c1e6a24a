import { AuditRepository, MessageRepository, TenantConfigRepository } from '@ser/data';
import type { MessageStore } from '@ser/mongo';
import { MESSAGE_STORE } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import { Readable } from 'node:stream';
import { ProblemError, problems } from '../http/problem';
import { MessageTombstoneRepository } from '../retention/message-tombstone.repository';
import { inPipeline, retentionCutoff } from '../retention/retention-policy';

export interface Sample {
  messageId: string;
  /** For the lines logged about the download. */
  tenantId: string;
  appId: string;
  /** The message as egress sends it: the DKIM signature header(s), then the stored body. */
  stream: Readable;
}

export function gone(detail: string): ProblemError {
  return new ProblemError({ type: 'https://ser.dev/problems/gone', title: 'Gone', status: 410, detail });
}

/** The raw message of `GET /v1/messages/{id}/raw`: available, then audited, then opened. */
@Injectable()
export class MessageSampleService {
  constructor(
    @Inject(MESSAGE_STORE) private readonly store: MessageStore,
    private readonly messages: MessageRepository,
    private readonly tenants: TenantConfigRepository,
    private readonly tombstones: MessageTombstoneRepository,
    private readonly audit: AuditRepository,
  ) {}

  async open(messageId: string, who: { actor: string; ip: string | undefined }): Promise<Sample> {
    const message = await this.messages.findById(messageId);
    if (message === null) {
      await this.throwIfDeleted(messageId);
      throw problems.notFound('message');
    }
    const tenant = await this.tenants.findTenant(message.tenantId);
    // Past retention but not yet reached by the job: as good as deleted.
    if (!inPipeline(message.state) && message.createdAt < retentionCutoff(tenant, Date.now())) {
      throw gone('the message is past its retention');
    }
    if (!(await this.store.exists(messageId))) {
      throw gone('the body of the message is no longer stored');
    }
    // Audited before a byte leaves: a download that fails half-way is still on record.
    await this.audit.record({
      actor: who.actor,
      action: 'message.download',
      tenantId: message.tenantId,
      ...(who.ip === undefined ? {} : { address: who.ip }),
      target: { type: 'message', id: messageId },
      details: { ip: who.ip ?? null, signed: message.dkim !== undefined },
    });
    return {
      messageId,
      tenantId: message.tenantId,
      appId: message.appId,
      stream: Readable.from(signedMessage(message.dkim?.headers, this.store.open(messageId))),
    };
  }

  /** `GET /v1/messages/{id}` of a message retention deleted. */
  async throwIfDeleted(messageId: string): Promise<void> {
    if (await this.tombstones.exists(messageId)) {
      throw gone('the message is past its retention and was deleted');
    }
  }
}

async function* signedMessage(headers: string | undefined, body: Readable): AsyncGenerator<Buffer> {
  if (headers !== undefined && headers !== '') {
    yield Buffer.from(headers, 'utf8');
  }
  for await (const chunk of body) {
    yield chunk as Buffer;
  }
}
