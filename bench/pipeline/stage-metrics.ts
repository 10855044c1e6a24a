import type { RelayProcess } from './relay-processes';

/** A stage's job handler time from `ser_stage_duration_seconds`: jobs and mean wall-clock time. */
export interface StageTime {
  stage: string;
  jobs: number;
  meanMs: number;
}

const SAMPLE = /^ser_stage_duration_seconds_(sum|count)\{([^}]*)\} ([0-9.e+-]+)$/;

/**
 * Scrapes every process's `/metrics` and sums `ser_stage_duration_seconds` by stage (outcome
 * `ok`): how long each worker's handler took per job, queueing excluded. Wall-clock, not CPU: a
 * handler waiting for clamd or FerretDB counts its wait.
 */
export async function stageTimes(processes: readonly RelayProcess[]): Promise<StageTime[]> {
  const sums = new Map<string, { sum: number; count: number }>();
  for (const p of processes) {
    const response = await fetch(`http://127.0.0.1:${String(p.opsPort)}/metrics`).catch(() => undefined);
    const text = response?.status === 200 ? await response.text() : '';
    for (const line of text.split('\n')) {
      const match = SAMPLE.exec(line);
      const labels = match?.[2] ?? '';
      const stage = /stage="([^"]*)"/.exec(labels)?.[1];
      if (match === null || stage === undefined || !labels.includes('outcome="ok"')) {
        continue;
      }
      const entry = sums.get(stage) ?? { sum: 0, count: 0 };
      if (match[1] === 'sum') {
        entry.sum += Number(match[3]);
      } else {
        entry.count += Number(match[3]);
      }
      sums.set(stage, entry);
    }
  }
  return [...sums.entries()].map(([stage, { sum, count }]) => ({
    stage,
    jobs: count,
    meanMs: count === 0 ? 0 : Math.round((sum / count) * 10_000) / 10,
  }));
}

const REFUSALS = /^ser_smtp_admission_refusals_total\{[^}]*reason="([^"]*)"[^}]*\} ([0-9.e+-]+)$/;

/**
 * Transactions refused by ingress's admission control since the processes started, by reason
 * (`scan_backlog`, `concurrent_data`), scraped from every process's `/metrics`.
 */
export async function admissionRefusals(processes: readonly RelayProcess[]): Promise<Record<string, number>> {
  const refusals: Record<string, number> = {};
  for (const p of processes) {
    const response = await fetch(`http://127.0.0.1:${String(p.opsPort)}/metrics`).catch(() => undefined);
    const text = response?.status === 200 ? await response.text() : '';
    for (const match of text.split('\n').map((line) => REFUSALS.exec(line))) {
      if (match?.[1] !== undefined) {
        refusals[match[1]] = (refusals[match[1]] ?? 0) + Number(match[2]);
      }
    }
  }
  return refusals;
}
