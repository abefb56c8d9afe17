import { bodyAsSent } from '@app/contracts';
import { DomainError, domainErrorResponse, integrityConflict } from '@app/domain';
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { QueryFailedError } from 'typeorm';
import { asDomainError } from '@gateway/errors/infrastructure-error';
import { RouteMethods } from './route-methods';

/**
 * How long a client should wait before retrying a 503. Prefect's client honours it (5 retries by default), so an
 * outage of up to about five times this is ridden out without the worker noticing.
 */
export const RETRY_AFTER_SECONDS = 2;

/**
 * Whether a failed query broke an integrity constraint (Postgres SQLSTATE class 23: unique, foreign key,
 * not null, check, exclusion), which SQLAlchemy raises as the `IntegrityError` Prefect answers with a 409.
 */
export function isIntegrityViolation(exception: unknown): boolean {
  if (!(exception instanceof QueryFailedError)) return false;
  const code = (exception.driverError as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('23');
}

/** The single place where errors become HTTP responses (`PrefectRpcExceptionFilter` answers NATS requests). */
@Catch()
export class PrefectExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');

  catch(exception: unknown, host: ArgumentsHost): void {
    const context = host.switchToHttp();
    const reply = context.getResponse<FastifyReply>();
    const request = context.getRequest<FastifyRequest>();
    const domainError = exception instanceof DomainError ? exception : asDomainError(exception);
    if (domainError) {
      const { status, body } = domainErrorResponse(domainError, bodyAsSent(request.body));
      if (domainError !== exception) {
        // Expected in operation (an outage, a client's bad value): one line, no stack.
        const message = domainError.code === 'unavailable' ? 'service unavailable' : 'request refused by the database';
        this.logger.warn({
          message,
          reqId: request.id,
          error: exception instanceof Error ? exception.message : String(exception),
        });
      }
      if (domainError.code === 'unavailable') void reply.header('retry-after', String(RETRY_AFTER_SECONDS));
      void reply.status(status).send(body);
      return;
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const allowed = status === 404 ? (RouteMethods.of(request)?.allowed(request.url) ?? []) : [];
      if (allowed.length > 0 && !allowed.includes(request.method)) {
        // Starlette's answer for a path served with other methods only.
        void reply
          .status(405)
          .header('allow', allowed.join(', '))
          .send({ detail: httpReason(405) });
        return;
      }
      const response = exception.getResponse();
      const detail =
        typeof response === 'object' && response !== null && 'message' in response && status !== 404
          ? response.message
          : httpReason(status);
      void reply.status(status).send({ detail });
      return;
    }
    const status = (exception as { statusCode?: unknown }).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      // Raised by Fastify before a route ran: oversized body, unsupported media type, ...
      void reply.status(status).send({ detail: exception instanceof Error ? exception.message : httpReason(status) });
      return;
    }
    if (isIntegrityViolation(exception)) {
      // Logged as Prefect logs it: the response body says to look here.
      this.logError('integrity violation', request, exception);
      const { status: conflictStatus, body } = domainErrorResponse(integrityConflict(), request.body);
      void reply.status(conflictStatus).send(body);
      return;
    }
    this.logError('unhandled error', request, exception);
    void reply.status(500).send({ exception_message: 'Internal Server Error' });
  }

  private logError(message: string, request: FastifyRequest, exception: unknown): void {
    this.logger.error({
      message,
      reqId: request.id,
      error: exception instanceof Error ? exception.stack : String(exception),
    });
  }
}

export function httpReason(status: number): string {
  const reasons: Record<number, string> = {
    400: 'Bad Request',
    404: 'Not Found',
    405: 'Method Not Allowed',
    413: 'Request Entity Too Large',
    415: 'Unsupported Media Type',
    422: 'Unprocessable Entity',
  };
  return reasons[status] ?? 'Error';
}
