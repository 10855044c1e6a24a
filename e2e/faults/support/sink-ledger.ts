import type { SmtpSink } from '@ser/testing';

const ATTEMPT_HEADER = /^X-Fault-Attempt:[ \t]*(\S+)/im;

/** The sink's copies, counted per attempt key (X-Fault-Attempt) and recipient. */
export class SinkLedger {
  /** Copies without a known attempt header (nothing the suite sent, e.g. a DSN). */
  unknown = 0;
  private seen = 0;
  private readonly copies = new Map<string, Map<string, number>>();

  constructor(private readonly sink: SmtpSink) {}

  /** Messages the sink accepted so far (one per SMTP transaction, each with its recipients). */
  get arrivals(): number {
    this.refresh();
    return this.seen;
  }

  copiesOf(key: string, recipient: string): number {
    this.refresh();
    return this.copies.get(key)?.get(recipient.toLowerCase()) ?? 0;
  }

  /** Attempt keys with at least one copy at the sink. */
  keys(): string[] {
    this.refresh();
    return [...this.copies.keys()];
  }

  has(key: string): boolean {
    this.refresh();
    return this.copies.has(key);
  }

  private refresh(): void {
    const messages = this.sink.messages;
    for (; this.seen < messages.length; this.seen++) {
      const message = messages[this.seen];
      if (message === undefined) {
        continue;
      }
      const head =
        message.raw
          .subarray(0, 16 * 1024)
          .toString('latin1')
          .split(/\r\n\r\n/, 1)[0] ?? '';
      const key = ATTEMPT_HEADER.exec(head)?.[1];
      if (key === undefined) {
        this.unknown += 1;
        continue;
      }
      const perRecipient = this.copies.get(key) ?? new Map<string, number>();
      for (const rcpt of message.envelope.rcptTo) {
        const address = rcpt.toLowerCase();
        perRecipient.set(address, (perRecipient.get(address) ?? 0) + 1);
      }
      this.copies.set(key, perRecipient);
    }
  }
}
