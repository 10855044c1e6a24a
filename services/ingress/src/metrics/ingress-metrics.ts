import { Injectable } from '@nestjs/common';
import { counterMetric } from '@ser/queue';
import type { AdmissionRefusal } from '../limits/admission-control';

/** The ingress's two listeners (docs/smtp.md): STARTTLS on 587, implicit TLS on 465. */
export type ListenerName = 'submission' | 'submissions';

/**
 * The ingress's Prometheus counters (docs/metrics.md). Labels are bounded by construction: a
 * listener name, a 3-digit reply code, a reason from the code's own short list; never an address,
 * a user name, a tenant or an application.
 */
@Injectable()
export class IngressMetrics {
  private readonly sessions = counterMetric(
    'ser_smtp_sessions_total',
    'SMTP connections accepted by an ingress listener (including those then refused)',
    ['listener'],
  );
  private readonly replies = counterMetric(
    'ser_smtp_replies_total',
    'SMTP replies sent by the ingress: every 4xx and 5xx, 235 (AUTH accepted) and 250 to the final dot (message accepted)',
    ['code'],
  );
  private readonly authFailures = counterMetric(
    'ser_smtp_auth_failures_total',
    'Refused SMTP AUTH attempts, by reason',
    ['reason'],
  );

  private readonly admissionRefusals = counterMetric(
    'ser_smtp_admission_refusals_total',
    'Transactions refused with 451 4.3.2 by admission control (overload), by reason',
    ['reason'],
  );

  sessionOpened(listener: ListenerName): void {
    this.sessions.inc({ listener });
  }

  /**
   * Counts a reply as smtp-server sends it. `context` is smtp-server's: `DATA_OK` marks the 250 that
   * accepts a message; the 250s to EHLO, MAIL and RCPT are not counted (they would only multiply it).
   */
  replySent(code: number, context: unknown): void {
    const refusal = Number.isInteger(code) && code >= 400 && code < 600;
    if (refusal || code === 235 || (code === 250 && context === 'DATA_OK')) {
      this.replies.inc({ code: String(code) });
    }
    // smtp-server answers AUTH before STARTTLS itself (RFC 4954 §6); it never reaches onAuth.
    if (code === 538) {
      this.authFailures.inc({ reason: 'tls_required' });
    }
  }

  authFailed(reason: string): void {
    this.authFailures.inc({ reason });
  }

  admissionRefused(reason: AdmissionRefusal): void {
    this.admissionRefusals.inc({ reason });
  }
}
