import type { RelayConfig } from '@ser/config';
import { QUEUES } from '@ser/contracts';
import type { QueueKey } from '@ser/contracts';
import type { Logger } from '@ser/logger';
import { startServices } from '@ser/runtime';
import type { RunningServices } from '@ser/runtime';
import { Queue } from 'bullmq';
import type { Job } from 'bullmq';
import { Redis } from 'ioredis';
import { ingressService, SmtpListenerService } from '../src/index';

export interface RunningIngress {
  running: RunningServices;
  /** The bound ports: STARTTLS submission and implicit-TLS submissions. */
  starttlsPort: number;
  implicitTlsPort: number;
}

/** Starts the ingress service alone, in this process, with its real module. */
export async function startIngress(config: RelayConfig, logger: Logger): Promise<RunningIngress> {
  const running = await startServices([ingressService], config, logger);
  const context = running.contexts.get('ingress');
  if (context === undefined) {
    throw new Error('the ingress context did not start');
  }
  const [starttlsPort, implicitTlsPort] = context.get(SmtpListenerService).boundPorts;
  if (starttlsPort === undefined || implicitTlsPort === undefined) {
    throw new Error('the ingress listeners are not bound');
  }
  return { running, starttlsPort, implicitTlsPort };
}

/**
 * Reads the jobs the ingress queued, under the test's own BullMQ prefix. Nothing consumes them in
 * these tests (only the ingress runs), so they stay waiting and can be inspected.
 */
export class QueueInspector {
  private readonly connection: Redis;
  private readonly queues = new Map<QueueKey, Queue>();

  constructor(
    redisUrl: string,
    private readonly prefix: string,
  ) {
    this.connection = new Redis(redisUrl, { maxRetriesPerRequest: null });
  }

  queue(key: QueueKey): Queue {
    let queue = this.queues.get(key);
    if (queue === undefined) {
      queue = new Queue(QUEUES[key], { connection: this.connection, prefix: this.prefix });
      this.queues.set(key, queue);
    }
    return queue;
  }

  /** Every job of the queue, whatever its state. */
  jobs(key: QueueKey): Promise<Job[]> {
    return this.queue(key).getJobs();
  }

  /** Removes every queue of this prefix from Redis and closes the connection. */
  async close(): Promise<void> {
    for (const key of Object.keys(QUEUES) as QueueKey[]) {
      await this.queue(key)
        .obliterate({ force: true })
        .catch(() => undefined);
    }
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    await this.connection.quit();
  }
}
