import type { RelayConfig } from '@ser/config';
import type { QueueBus } from '@ser/queue';
import { QUEUE_BUS } from '@ser/runtime';
import { startTcpProxy, waitFor } from '@ser/testing';
import type { TcpProxy } from '@ser/testing';
import type { RunningIngress } from './ingress-harness';
import { dataPayload } from './raw-smtp-client';
import type { RawSmtpClient, SmtpReply } from './raw-smtp-client';
import { expectCode } from './submission-fixture';
import type { SubmissionFixture } from './submission-fixture';
import type { SeededCredential } from './tenant-seed';

/** Proxies a dependency's URL (MONGO_URL, REDIS_URL) through a TCP proxy a test can break. */
export async function proxied(url: string): Promise<{ proxy: TcpProxy; url: string }> {
  const target = new URL(url);
  const proxy = await startTcpProxy({ port: Number(target.port) });
  target.port = String(proxy.port);
  return { proxy, url: target.toString() };
}

/**
 * Runs `fault` the moment the ingress has put a message's scan job into Redis, before the commit
 * (the record's move to `accepted`) is sent. Watching Redis from the test races with a commit that
 * takes a millisecond; this runs in the ingress's own call, right after the job was added, so the
 * fault hits the commit every time. The fault itself is real (a TCP proxy stopped, replies dropped).
 */
export function onScanQueued(ingress: RunningIngress, fault: (messageId: string) => Promise<void>): void {
  const context = ingress.running.contexts.get('ingress');
  if (context === undefined) {
    throw new Error('no ingress context');
  }
  const bus = context.get<symbol, QueueBus>(QUEUE_BUS);
  const enqueue = bus.enqueue.bind(bus);
  bus.enqueue = async (key, payload, jobId, options) => {
    await enqueue(key, payload, jobId, options);
    const { messageId } = payload as { messageId?: string };
    if (key === 'scan' && messageId !== undefined) {
      await fault(messageId);
    }
  };
}

/** Waits until the record is `accepted` in the database (read directly, not through the proxy). */
export async function acceptedInDatabase(fx: SubmissionFixture, messageId: string): Promise<void> {
  await waitFor(async () => (await fx.messages.findById(messageId))?.state === 'accepted', {
    timeoutMs: 10_000,
    intervalMs: 5,
    description: `record ${messageId} accepted`,
  });
}

/** Authenticated, one recipient, the whole message sent; resolves with the reply to the final dot. */
export async function submit(
  fx: SubmissionFixture,
  credential: SeededCredential,
  port: number,
  from: string,
): Promise<{ reply: SmtpReply; client: RawSmtpClient }> {
  const client = await fx.login(credential, { port, replyTimeoutMs: 30_000 });
  expectCode(await client.command(`MAIL FROM:<${from}>`), 250);
  expectCode(await client.command('RCPT TO:<x@dest.test>'), 250);
  expectCode(await client.command('DATA'), 354);
  const body = `From: ${from}\r\nTo: x@dest.test\r\nSubject: Commit\r\n\r\nHello.\r\n`;
  return { reply: await client.sendRaw(dataPayload(body)), client };
}

/** The message id of a `250 … queued as <id>` reply. */
export function queuedId(reply: SmtpReply): string {
  expectCode(reply, 250);
  return reply.text.replace('Ok: queued as ', '');
}

/** Overrides for an ingress whose commit deadline is `timeoutMs`. */
export function commitTimeout(timeoutMs: number): Partial<RelayConfig> {
  return { SER_INGRESS_COMMIT_TIMEOUT_MS: timeoutMs };
}
