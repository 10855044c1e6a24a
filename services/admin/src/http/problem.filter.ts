import { isQueryTimeout } from '@ser/data';
import type { Logger } from '@ser/logger';
import { LOGGER } from '@ser/runtime';
import { Catch, HttpException, Inject } from '@nestjs/common';
import type { ArgumentsHost, ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { STATUS_CODES } from 'node:http';
import { ProblemError, problems } from './problem';
import type { Problem } from './problem';

/** Every error leaves as application/problem+json; unexpected ones never leak internals. */
@Catch()
export class ProblemFilter implements ExceptionFilter {
  constructor(@Inject(LOGGER) private readonly logger: Logger) {}

  catch(error: unknown, host: ArgumentsHost): void {
    const response = host.switchToHttp().getResponse<Response>();
    const problem = this.toProblem(error);
    if (problem.status >= 500) {
      this.logger.error({ code: 'ADMIN_REQUEST_FAILED', err: error }, 'request failed');
    }
    response.status(problem.status).type('application/problem+json').send(JSON.stringify(problem));
  }

  private toProblem(error: unknown): Problem {
    if (error instanceof ProblemError) {
      return error.problem;
    }
    if (isQueryTimeout(error)) {
      return problems.queryTimeout().problem;
    }
    if (error instanceof HttpException) {
      const status = error.getStatus();
      return { type: 'about:blank', title: error.message, status };
    }
    const clientStatus = exposedClientStatus(error);
    if (clientStatus !== undefined) {
      return {
        type: 'about:blank',
        title: STATUS_CODES[clientStatus] ?? 'Bad Request',
        status: clientStatus,
      };
    }
    return { type: 'about:blank', title: 'Internal Server Error', status: 500 };
  }
}

/**
 * Express middleware (body-parser: 413 body too large, 415 unsupported charset, 400 aborted) fails
 * with http-errors that are not HttpExceptions; they are the client's fault, not a 500.
 */
function exposedClientStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) {
    return undefined;
  }
  const { status, expose } = error as { status?: unknown; expose?: unknown };
  return expose === true && typeof status === 'number' && status >= 400 && status < 500 ? status : undefined;
}
