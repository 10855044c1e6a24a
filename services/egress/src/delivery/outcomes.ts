import type { EventType } from '@ser/contracts';
import type { RecipientOutbox, RecipientResult } from '@ser/data';
import type { RecipientOutcome } from './delivery-transport';
import type { NextAttempt } from './retry-schedule';

/** 2xx delivered; 5xx bounced; 4xx deferred until the queue lifetime ends, then expired. */
export function resultOf(reply: RecipientOutcome, next: NextAttempt, ambiguous: boolean): RecipientResult {
  const text = `${reply.code} ${reply.text}`;
  if (reply.code < 400) {
    return { state: 'delivered', reply: text };
  }
  if (reply.code >= 500) {
    return { state: 'bounced', reply: text };
  }
  return next.kind === 'expired'
    ? { state: 'expired', reply: text, ambiguous }
    : { state: 'deferred', reply: text, nextAttemptAt: next.at, ambiguous };
}

/**
 * A bad mailbox or domain (`5.1.x`, RFC 3463), not a policy, content or mailbox-full refusal: the
 * address is suppressed so the relay stops sending to it. A reply without an enhanced status code
 * is never taken as one (a bare 550 is as often a policy refusal).
 */
export function isHardBounce(reply: { code: number; text: string }): boolean {
  const status = /^(\d)\.(\d{1,3})\.\d{1,3}\b/.exec(reply.text);
  return reply.code >= 500 && status !== null && status[1] === '5' && status[2] === '1';
}

/**
 * What is left to do about one recipient's result of attempt `attempt` (its event, a suppression,
 * a DSN entry), written with the result. The event id names the message, outcome, recipient and
 * attempt: it is how a repeated write recognises that an earlier one was applied.
 */
export function attemptOutbox(
  messageId: string,
  recipient: string,
  reply: RecipientOutcome,
  result: RecipientResult,
  attempt: number,
  now: Date,
  ambiguous: boolean,
): RecipientOutbox {
  const type: EventType =
    `delivery.${result.state === 'delivered' ? 'succeeded' : result.state}` as EventType;
  return {
    event: {
      id: `${messageId}.${type}.${recipient}.${attempt}`,
      type,
      at: now.toISOString(),
      data: {
        reply: result.reply,
        attempt,
        ...(reply.remoteMta === undefined ? {} : { remoteMta: reply.remoteMta }),
        ...(result.nextAttemptAt === undefined ? {} : { nextAttemptAt: result.nextAttemptAt.toISOString() }),
        ...(ambiguous ? { ambiguous: true } : {}),
      },
    },
    ...(result.state === 'bounced' && isHardBounce(reply) ? { suppress: { reply: result.reply } } : {}),
    ...(result.state === 'bounced' || result.state === 'expired'
      ? {
          dsn: {
            reply: result.reply,
            ...(reply.remoteMta === undefined ? {} : { remoteMta: reply.remoteMta }),
            lastAttemptAt: now,
            expired: result.state === 'expired',
          },
        }
      : {}),
  };
}
