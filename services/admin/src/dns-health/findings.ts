/** One piece of advice and how much it matters: `error` means mail is failing authentication now. */
export interface Finding {
  severity: 'warning' | 'error';
  text: string;
}

export type HealthStatus = 'ok' | 'warnings' | 'errors';

export const warning = (text: string): Finding => ({ severity: 'warning', text });
export const error = (text: string): Finding => ({ severity: 'error', text });

export function statusOf(findings: readonly Finding[]): HealthStatus {
  if (findings.some((f) => f.severity === 'error')) {
    return 'errors';
  }
  return findings.length > 0 ? 'warnings' : 'ok';
}

/** A report section as the API shows it: its status and advice, the findings flattened. */
export function withAdvice<T extends object>(
  report: T,
  findings: readonly Finding[],
): T & { status: HealthStatus; advice: string[] } {
  return { ...report, status: statusOf(findings), advice: findings.map((f) => f.text) };
}

const RANK: Record<HealthStatus, number> = { ok: 0, warnings: 1, errors: 2 };

export function worstStatus(statuses: readonly HealthStatus[]): HealthStatus {
  return statuses.reduce<HealthStatus>((worst, s) => (RANK[s] > RANK[worst] ? s : worst), 'ok');
}

/** The status and advice of a section made of checked parts, plus findings of its own. */
export function combine(
  parts: readonly { status: HealthStatus; advice: readonly string[] }[],
  own: readonly Finding[] = [],
): { status: HealthStatus; advice: string[] } {
  return {
    status: worstStatus([...parts.map((p) => p.status), statusOf(own)]),
    advice: [...parts.flatMap((p) => p.advice), ...own.map((f) => f.text)],
  };
}
