import type { RelayConfig } from '@ser/config';
import { jobIds } from '@ser/contracts';
import { MessageRepository } from '@ser/data';
import type { MessageDocument } from '@ser/data';
import { domainOf, headerBlockEnd, headerValues, parseHeaderBlock } from '@ser/mail';
import type { MessageStore } from '@ser/mongo';
import type { EventPublisher, QueueBus } from '@ser/queue';
import { CONFIG, EVENTS, MESSAGE_STORE, QUEUE_BUS } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { buildDsn, DSN_SUBJECT } from './dsn';
import type { DsnRecipient } from './dsn';

export type { DsnRecipient } from './dsn';

/** The original's header section is read up to here: a DSN never needs more, and never the body. */
const MAX_HEADER_SECTION = 64 * 1024;
const DEFAULT_RETENTION_MS = 30 * 86_400_000;
const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz';

/**
 * Sends the envelope sender a delivery status notification (RFC 3464) about recipients of a
 * message that failed for good; the caller checks that the tenant asked for DSNs (`dsn`). The DSN is a message of its own
 * (`dsnFor` set, null reverse path) that goes through egress like any other.
 */
@Injectable()
export class DsnSender {
  constructor(
    private readonly messages: MessageRepository,
    @Inject(MESSAGE_STORE) private readonly store: MessageStore,
    @Inject(QUEUE_BUS) private readonly bus: QueueBus,
    @Inject(EVENTS) private readonly events: EventPublisher,
    @Inject(CONFIG) private readonly config: RelayConfig,
  ) {}

  /**
   * Resolves the DSN's message id, or undefined when none is due. Safe to repeat: the id derives
   * from the original and the recipients, so a redelivered job finds the DSN it already made and
   * only completes the steps that may be missing (the delivery job, the event).
   */
  async send(original: MessageDocument, recipients: DsnRecipient[]): Promise<string | undefined> {
    const domain = domainOf(original.envelope.mailFrom);
    // No DSN to a null reverse path, nor about a DSN (RFC 5321 §4.5.5, RFC 3461 §6.2): loops.
    if (recipients.length === 0 || domain === undefined || original.dsnFor !== undefined) {
      return undefined;
    }
    const dsnId = dsnMessageId(
      original._id,
      recipients.map((r) => r.address),
    );
    const dsn = (await this.messages.findById(dsnId)) ?? (await this.create(original, recipients, dsnId));
    // Past `signed`, egress has the DSN already; a completed job may be gone, so never enqueue again.
    if (dsn.state === 'signed') {
      await this.bus.enqueue('deliver', { v: 1, messageId: dsnId, domain }, jobIds.deliver(dsnId, domain));
    }
    await this.events.publish({
      id: `${original._id}.delivery.dsn_sent.${dsnId}`,
      type: 'delivery.dsn_sent',
      tenantId: original.tenantId,
      appId: original.appId,
      messageId: original._id,
      data: { dsnMessageId: dsnId, recipients: recipients.map((r) => r.address) },
    });
    return dsnId;
  }

  private async create(
    original: MessageDocument,
    recipients: DsnRecipient[],
    dsnId: string,
  ): Promise<MessageDocument> {
    const host = this.config.SER_HOSTNAME.toLowerCase();
    const headers = await readHeaderSection(this.store.open(original._id));
    const now = new Date();
    const body = buildDsn({
      reportingHost: host,
      originalMailFrom: original.envelope.mailFrom,
      originalHeaders: headers,
      originalMessageId: headerValues(parseHeaderBlock(headers.toString('utf8')), 'message-id')[0],
      arrivalDate: original.createdAt,
      recipients,
      messageIdLocal: dsnId,
      date: now,
    });
    const { size } = await this.store.put(dsnId, Readable.from([body]), { dsnFor: original._id });
    const retention = original.expiresAt.getTime() - original.createdAt.getTime();
    const dsn: MessageDocument = {
      _id: dsnId,
      tenantId: original.tenantId,
      appId: original.appId,
      credentialId: original.credentialId,
      envelope: { mailFrom: '', rcptTo: [original.envelope.mailFrom] },
      headerFrom: `mailer-daemon@${host}`,
      fromDomain: host,
      subject: DSN_SUBJECT,
      size,
      state: 'signed',
      client: original.client,
      dsnFor: original._id,
      createdAt: now,
      updatedAt: now,
      expiresAt: new Date(now.getTime() + (retention > 0 ? retention : DEFAULT_RETENTION_MS)),
    };
    await this.messages.create(dsn);
    return dsn;
  }
}

/**
 * A message id (MESSAGE_ID_PATTERN) derived from the original and the set of recipients: the
 * original's time part, then 80 bits of a hash. A recipient fails for good only once, so one
 * set of recipients of one message gets at most one DSN.
 */
export function dsnMessageId(originalId: string, addresses: string[]): string {
  const key = [originalId, ...[...new Set(addresses.map((a) => a.toLowerCase()))].sort()].join('\n');
  const digest = createHash('sha256').update(key).digest();
  let tail = '';
  for (let bit = 0; bit < 80; bit += 5) {
    const byte = Math.floor(bit / 8);
    const pair = ((digest[byte] ?? 0) << 8) | (digest[byte + 1] ?? 0);
    tail += ALPHABET.charAt((pair >> (11 - (bit % 8))) & 31);
  }
  return originalId.slice(0, 10) + tail;
}

/** The header section up to and with its blank line, at most MAX_HEADER_SECTION octets, whole lines. */
async function readHeaderSection(body: Readable): Promise<Buffer> {
  let collected = Buffer.alloc(0);
  try {
    for await (const chunk of body) {
      collected = Buffer.concat([collected, chunk as Buffer]);
      if (headerBlockEnd(collected) !== -1 || collected.length >= MAX_HEADER_SECTION) {
        break;
      }
    }
  } finally {
    body.destroy();
  }
  const end = headerBlockEnd(collected);
  if (end !== -1 && end <= MAX_HEADER_SECTION) {
    return collected.subarray(0, end);
  }
  const capped = collected.subarray(0, MAX_HEADER_SECTION);
  const lastLine = capped.lastIndexOf('\r\n');
  return lastLine === -1 ? Buffer.alloc(0) : capped.subarray(0, lastLine + 2);
}
