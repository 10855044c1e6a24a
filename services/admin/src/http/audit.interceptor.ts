import { AuditRepository } from '@ser/data';
import { HttpException, Injectable } from '@nestjs/common';
import type { CallHandler, ExecutionContext, NestInterceptor } from '@nestjs/common';
import { HTTP_CODE_METADATA } from '@nestjs/common/constants';
import { Reflector } from '@nestjs/core';
import type { Request } from 'express';
import { catchError, concatMap, from, type Observable } from 'rxjs';
import { apiCallEntry } from './audit-entry';
import { ProblemError } from './problem';

const READS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Every mutating call that passed the access guard is written to the audit log before its answer
 * leaves, whether it succeeded or failed; services add entries of their own with the details of
 * their decisions (`tenant.update`, ...). A sample download, a read, is audited by its service
 * (`message.download`) before the first byte is streamed. Other reads are not logged.
 */
@Injectable()
export class AuditInterceptor implements NestInterceptor {
  constructor(
    private readonly audit: AuditRepository,
    private readonly reflector: Reflector,
  ) {}

  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const request = context.switchToHttp().getRequest<Request>();
    if (READS.has(request.method)) {
      return next.handle();
    }
    const success =
      this.reflector.get<number | undefined>(HTTP_CODE_METADATA, context.getHandler()) ??
      (request.method === 'POST' ? 201 : 200);
    return next.handle().pipe(
      concatMap((value: unknown) => from(this.record(request, success).then(() => value))),
      catchError((error: unknown) =>
        from(
          this.record(request, statusOf(error)).then(() => {
            throw error;
          }),
        ),
      ),
    );
  }

  private async record(request: Request, status: number): Promise<void> {
    await this.audit.record(apiCallEntry(request, 'api.call', status));
  }
}

function statusOf(error: unknown): number {
  if (error instanceof ProblemError) {
    return error.problem.status;
  }
  return error instanceof HttpException ? error.getStatus() : 500;
}
