import { CliError } from './cli-error';

/** An RFC 9457 problem as the admin API sends it (docs/api.md, "Errors"). */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  errors?: { path?: string; message?: string }[];
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads what a problem body holds, ignoring fields of the wrong type. */
export function readProblem(body: unknown): Problem {
  if (!isRecord(body)) {
    return {};
  }
  const text = (key: string): string | undefined => (typeof body[key] === 'string' ? body[key] : undefined);
  const errors = Array.isArray(body['errors'])
    ? body['errors'].filter(isRecord).map((e) => ({
        path: typeof e['path'] === 'string' ? e['path'] : undefined,
        message: typeof e['message'] === 'string' ? e['message'] : undefined,
      }))
    : undefined;
  return {
    type: text('type'),
    title: text('title'),
    status: typeof body['status'] === 'number' ? body['status'] : undefined,
    detail: text('detail'),
    errors,
  };
}

/**
 * The CLI error for a refused request: `<title>: <detail>` and one `<path>: <message>` line per
 * validation issue, so an operator sees every problem of a request at once.
 */
export function problemError(status: number, statusText: string, body: unknown, what: string): ProblemError {
  const problem = readProblem(body);
  const title = problem.title ?? (statusText === '' ? `HTTP ${status}` : `HTTP ${status} ${statusText}`);
  const message = problem.detail === undefined ? title : `${title}: ${problem.detail}`;
  const details = (problem.errors ?? []).map((e) => `${e.path ?? '(unknown)'}: ${e.message ?? ''}`);
  return new ProblemError(status, problem, `${message} (${what})`, details);
}

/** A request the API answered with an error status. */
export class ProblemError extends CliError {
  constructor(
    readonly status: number,
    readonly problem: Problem,
    message: string,
    details: readonly string[],
  ) {
    super('api', message, details);
    this.name = 'ProblemError';
  }
}
