import type { RelayConfig } from '@ser/config';
import { CONFIG } from '@ser/runtime';
import { Inject, Injectable } from '@nestjs/common';
import { createTransport } from 'nodemailer';
import type { Readable } from 'node:stream';

export interface RecipientReply {
  recipient: string;
  code: number;
  reply: string;
}

export interface TransactionResult {
  /** Per recipient, the server's reply; recipients absent from the map were not attempted. */
  replies: RecipientReply[];
}

interface SmtpError extends Error {
  responseCode?: number;
  response?: string;
  code?: string;
  rejectedErrors?: SmtpError[];
  recipient?: string;
}

/** One SMTP transaction to one MX address, STARTTLS whenever offered (opportunistic TLS). */
@Injectable()
export class SmtpDelivery {
  constructor(@Inject(CONFIG) private readonly config: RelayConfig) {}

  async send(
    target: { address: string; name: string },
    envelope: { from: string; to: string[] },
    raw: Readable,
  ): Promise<TransactionResult> {
    const transport = createTransport({
      host: target.address,
      port: this.config.SER_EGRESS_PORT,
      secure: false,
      name: this.config.SER_HOSTNAME,
      connectionTimeout: this.config.SER_EGRESS_CONNECT_TIMEOUT_MS,
      greetingTimeout: 30000,
      socketTimeout: 120000,
      // Opportunistic TLS: most MX certificates do not match their names; policy (MTA-STS, DANE)
      // decides where verification is required.
      tls: { servername: target.name, rejectUnauthorized: false, minVersion: 'TLSv1.2' },
      logger: false,
    });
    try {
      const info = await transport.sendMail({ envelope, raw });
      const rejected = (info as { rejectedErrors?: SmtpError[] }).rejectedErrors ?? [];
      return {
        replies: [
          ...info.accepted.map((r) => ({
            recipient: typeof r === 'string' ? r : r.address,
            code: 250,
            reply: withoutCode(info.response),
          })),
          ...rejected.map((e) => replyOf(e, e.recipient ?? '')),
        ],
      };
    } catch (error) {
      return { replies: failedTransaction(error as SmtpError, envelope.to) };
    } finally {
      transport.close();
    }
  }
}

function replyOf(error: SmtpError, recipient: string): RecipientReply {
  return { recipient, code: error.responseCode ?? 451, reply: withoutCode(error.response ?? error.message) };
}

/** The reply text without its leading code, which is kept apart in `code`. */
export function withoutCode(response: string): string {
  return response.replace(/^\d{3}[ -]/, '');
}

/**
 * A whole transaction failed: per-recipient refusals where the server gave them; otherwise the
 * same reply for all (a connection failure counts as a temporary 4xx).
 */
function failedTransaction(error: SmtpError, recipients: string[]): RecipientReply[] {
  if (error.rejectedErrors !== undefined && error.rejectedErrors.length > 0) {
    return error.rejectedErrors.map((e) => replyOf(e, e.recipient ?? ''));
  }
  const code = error.responseCode !== undefined && error.responseCode >= 400 ? error.responseCode : 451;
  const reply = withoutCode(error.response ?? `${error.code ?? 'ERROR'} ${error.message}`);
  return recipients.map((recipient) => ({ recipient, code, reply }));
}
