/** RFC 9457 problem details; `type` URIs name stable problem kinds documented in docs/api.md. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string;
  errors?: { path: string; message: string }[];
}

export class ProblemError extends Error {
  constructor(readonly problem: Problem) {
    super(problem.detail ?? problem.title);
    this.name = 'ProblemError';
  }
}

const base = 'https://ser.dev/problems/';

export const problems = {
  notFound: (what: string) =>
    new ProblemError({
      type: `${base}not-found`,
      title: 'Not found',
      status: 404,
      detail: `${what} not found`,
    }),
  unauthorized: () =>
    new ProblemError({
      type: `${base}unauthorized`,
      title: 'Unauthorized',
      status: 401,
      detail: 'A valid bearer token is required',
    }),
  forbidden: (detail: string) =>
    new ProblemError({ type: `${base}forbidden`, title: 'Forbidden', status: 403, detail }),
  queryTimeout: () =>
    new ProblemError({
      type: `${base}query-timeout`,
      title: 'Query took too long',
      status: 503,
      detail:
        'The report took longer than the database may spend on it; ask for a shorter period or one application',
    }),
  tooManyRequests: (retryAfterSeconds: number) =>
    new ProblemError({
      type: `${base}rate-limited`,
      title: 'Too many requests',
      status: 429,
      detail: `Too many requests for this token or address; retry in ${retryAfterSeconds} s`,
    }),
  invalid: (errors: { path: string; message: string }[]) =>
    new ProblemError({
      type: `${base}invalid-request`,
      title: 'Invalid request',
      status: 400,
      detail: 'The request is not valid',
      errors,
    }),
  conflict: (detail: string) =>
    new ProblemError({ type: `${base}conflict`, title: 'Conflict', status: 409, detail }),
  unprocessable: (detail: string) =>
    new ProblemError({ type: `${base}unprocessable`, title: 'Unprocessable request', status: 422, detail }),
} as const;

/** `value ?? throw notFound(what)` for a document looked up by the id in the path. */
export function orNotFound<T>(value: T | null, what: string): T {
  if (value === null) {
    throw problems.notFound(what);
  }
  return value;
}
