import { createTransport } from 'nodemailer';
import type { Transporter } from 'nodemailer';
import { setTimeout as delay } from 'node:timers/promises';

/** What one SMTP transaction (one try of one message) got from the relay. */
export type AttemptOutcome =
  | 'accepted' // 250, with the relay's message id
  | 'temporary' // a 4xx reply (at any step: AUTH, MAIL, RCPT, DATA)
  | 'permanent' // a 5xx reply
  | 'no_reply'; // the connection failed or timed out: no reply to the final dot

export interface Attempt {
  /** `<token>.<try>`: carried in the message (X-Fault-Attempt), so the sink's copies map back to it. */
  key: string;
  token: string;
  client: number;
  recipients: string[];
  outcome: AttemptOutcome;
  reply: string;
  messageId?: string;
  startedAt: number;
  endedAt: number;
}

export interface TrafficOptions {
  port: number;
  username: string;
  password: string;
  from: string;
  clients: number;
  /** Each client starts a new message this often (when the previous one is done). */
  intervalMs: number;
  /** Recipients of one message; `token` is unique per message. */
  recipients: (token: string) => string[];
}

const RETRY_FIRST_MS = 500;
const RETRY_MAX_MS = 4000;
/** After stop(), messages a client still holds get this long to be accepted. */
const GIVE_UP_AFTER_STOP_MS = 90_000;

/**
 * SMTP clients as applications are: STARTTLS + AUTH on a reused connection, one message after
 * another, each retried after a 4xx or a lost connection until it gets a 250 (or a 5xx).
 */
export class Traffic {
  readonly attempts: Attempt[] = [];
  /** Messages given up on (never accepted) when the retry time after stop() ran out. */
  readonly abandoned: string[] = [];
  private inFlightCount = 0;
  private stopping = false;
  private giveUpAt = Number.POSITIVE_INFINITY;
  private loops: Promise<void>[] = [];

  constructor(private readonly options: TrafficOptions) {}

  get inFlight(): number {
    return this.inFlightCount;
  }

  start(): void {
    for (let client = 1; client <= this.options.clients; client++) {
      this.loops.push(this.run(client));
    }
  }

  /** Stops starting messages and waits until every client has finished (or given up on) its own. */
  async stop(): Promise<void> {
    this.stopping = true;
    this.giveUpAt = Date.now() + GIVE_UP_AFTER_STOP_MS;
    await Promise.all(this.loops);
  }

  /** Stops at once: no new message, no more retries (a failed run's clean-up). */
  async abort(): Promise<void> {
    this.stopping = true;
    this.giveUpAt = 0;
    await Promise.all(this.loops);
  }

  /** Accepted attempts that started after `since` (epoch ms). */
  acceptedSince(since: number): Attempt[] {
    return this.attempts.filter((a) => a.outcome === 'accepted' && a.startedAt >= since);
  }

  private async run(client: number): Promise<void> {
    const transport = this.transport();
    try {
      for (let seq = 1; !this.stopping; seq++) {
        const started = Date.now();
        await this.send(transport, client, `c${client}-${String(seq).padStart(5, '0')}`);
        await delay(Math.max(0, this.options.intervalMs - (Date.now() - started)));
      }
    } finally {
      transport.close();
    }
  }

  /** One message, tried until accepted or refused for good. */
  private async send(transport: Transporter, client: number, token: string): Promise<void> {
    const recipients = this.options.recipients(token);
    for (let attempt = 1; ; attempt++) {
      const outcome = await this.try(transport, client, token, attempt, recipients);
      if (outcome === 'accepted' || outcome === 'permanent') {
        return;
      }
      if (Date.now() > this.giveUpAt) {
        this.abandoned.push(token);
        return;
      }
      await delay(Math.min(RETRY_FIRST_MS * 2 ** (attempt - 1), RETRY_MAX_MS));
    }
  }

  private async try(
    transport: Transporter,
    client: number,
    token: string,
    attempt: number,
    recipients: string[],
  ): Promise<AttemptOutcome> {
    const key = `${token}.${attempt}`;
    const startedAt = Date.now();
    this.inFlightCount += 1;
    let result: Pick<Attempt, 'outcome' | 'reply' | 'messageId'>;
    try {
      const info = (await transport.sendMail({
        envelope: { from: this.options.from, to: recipients },
        raw: this.message(key, recipients),
      })) as { response: string };
      const messageId = /^250 .*queued as ([0-9a-z]+)/.exec(info.response)?.[1];
      result =
        messageId === undefined
          ? { outcome: 'no_reply', reply: `unexpected: ${info.response}` }
          : { outcome: 'accepted', reply: info.response, messageId };
    } catch (error) {
      result = classify(error);
    } finally {
      this.inFlightCount -= 1;
    }
    this.attempts.push({ key, token, client, recipients, startedAt, endedAt: Date.now(), ...result });
    return result.outcome;
  }

  private message(key: string, recipients: string[]): string {
    const lines = Array.from({ length: 30 }, (_, i) => `Line ${i + 1} of the statement for ${key}.`);
    return (
      `From: Billing <${this.options.from}>\r\n` +
      `To: ${recipients.join(', ')}\r\n` +
      `Subject: Statement ${key}\r\n` +
      `Date: ${new Date().toUTCString().replace('GMT', '+0000')}\r\n` +
      `Message-ID: <${key}@faults.test>\r\n` +
      `X-Fault-Attempt: ${key}\r\n` +
      'MIME-Version: 1.0\r\n' +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `\r\n${lines.join('\r\n')}\r\n`
    );
  }

  private transport(): Transporter {
    const transport = createTransport({
      pool: true,
      maxConnections: 1,
      maxMessages: Number.POSITIVE_INFINITY,
      host: '127.0.0.1',
      port: this.options.port,
      requireTLS: true,
      auth: { user: this.options.username, pass: this.options.password },
      tls: { rejectUnauthorized: false },
      connectionTimeout: 10_000,
      greetingTimeout: 10_000,
      // Longer than the relay's own database timeouts (30 s): a slow 451 is a reply, not a hang.
      socketTimeout: 90_000,
    });
    transport.on('error', () => undefined);
    return transport;
  }
}

function classify(error: unknown): Pick<Attempt, 'outcome' | 'reply'> {
  const { responseCode, response, code, message } = error as {
    responseCode?: number;
    response?: string;
    code?: string;
    message?: string;
  };
  if (typeof responseCode === 'number' && responseCode >= 400) {
    return {
      outcome: responseCode < 500 ? 'temporary' : 'permanent',
      reply: response ?? `${responseCode}`,
    };
  }
  return { outcome: 'no_reply', reply: `${code ?? 'error'}: ${message ?? String(error)}` };
}
