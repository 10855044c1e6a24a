import type { Logger } from '@ser/logger';
import { LOGGER } from '@ser/runtime';
import { Catch, HttpException, Inject } from '@nestjs/common';
import type { ArgumentsHost, ExceptionFilter } from '@nestjs/common';
import type { Response } from 'express';
import { ProblemError } from './problem';
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
    if (error instanceof HttpException) {
      const status = error.getStatus();
      return { type: 'about:blank', title: error.message, status };
    }
    return { type: 'about:blank', title: 'Internal Server Error', status: 500 };
  }
}
