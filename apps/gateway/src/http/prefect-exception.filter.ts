import { DomainError, DomainErrorCode, integrityConflict, invalid, serviceUnavailable } from '@app/domain';
import { isNatsUnavailable } from '@app/messaging';
import { isDatabaseUnavailable, isUnstorableValue } from '@app/persistence';
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { Observable, throwError } from 'rxjs';
import { QueryFailedError } from 'typeorm';

const STATUS: Record<DomainErrorCode, number> = {
  bad_request: 400,
  not_found: 404,
  object_not_found: 404,
  conflict: 409,
  forbidden: 403,
  invalid: 422,
  validation: 422,
  unavailable: 503,
};

/**
 * How long a client should wait before retrying a 503. Prefect's client honours it (5 retries by default), so an
 * outage of up to about five times this is ridden out without the worker noticing.
 */
export const RETRY_AFTER_SECONDS = 2;

/** Prefect's body for an error: FastAPI's `{"detail"}`, or Prefect's own handlers' shapes. */
export function prefectErrorBody(error: DomainError, request: { body?: unknown }): unknown {
  switch (error.code) {
    case 'validation':
      return {
        exception_message: 'Invalid request received.',
        exception_detail: error.details,
        request_body: error.requestBody ?? request.body ?? null,
      };
    case 'object_not_found':
    case 'unavailable':
      return { exception_message: error.message };
    default:
      return { detail: error.message };
  }
}

/** A domain error as Prefect's status and body (also what a NATS request handler replies). */
export function domainErrorResponse(error: DomainError, requestBody?: unknown): { status: number; body: unknown } {
  return { status: STATUS[error.code], body: prefectErrorBody(error, { body: requestBody }) };
}

/**
 * Whether a failed query broke an integrity constraint (Postgres SQLSTATE class 23: unique, foreign key,
 * not null, check, exclusion), which SQLAlchemy raises as the `IntegrityError` Prefect answers with a 409.
 */
export function isIntegrityViolation(exception: unknown): boolean {
  if (!(exception instanceof QueryFailedError)) return false;
  const code = (exception.driverError as { code?: unknown } | undefined)?.code;
  return typeof code === 'string' && code.startsWith('23');
}

/**
 * Infrastructure errors as the domain errors they amount to: Postgres or NATS down (503, retry), or a value
 * Postgres refused that validation let through (422: the request is at fault, never the server).
 */
function asDomainError(exception: unknown): DomainError | null {
  if (isDatabaseUnavailable(exception) || isNatsUnavailable(exception)) return serviceUnavailable();
  if (isUnstorableValue(exception)) return invalid('Invalid request: a value cannot be stored.');
  return null;
}

/** The single place where errors become HTTP responses. */
@Catch()
export class PrefectExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');

  catch(exception: unknown, host: ArgumentsHost): void | Observable<never> {
    if (host.getType() !== 'http') {
      // A NATS request handler failed unexpectedly (they answer domain errors themselves): reply 500.
      this.logger.error({ message: 'unhandled error in a NATS handler', error: exception instanceof Error ? exception.stack : String(exception) });
      return throwError(() => exception);
    }
    const context = host.switchToHttp();
    const reply = context.getResponse<FastifyReply>();
    const request = context.getRequest<FastifyRequest>();
    const domainError = exception instanceof DomainError ? exception : asDomainError(exception);
    if (domainError) {
      const { status, body } = domainErrorResponse(domainError, request.body);
      if (domainError !== exception) {
        // Expected in operation (an outage, a client's bad value): one line, no stack.
        const message = domainError.code === 'unavailable' ? 'service unavailable' : 'request refused by the database';
        this.logger.warn({ message, reqId: request.id, error: exception instanceof Error ? exception.message : String(exception) });
      }
      if (domainError.code === 'unavailable') void reply.header('retry-after', String(RETRY_AFTER_SECONDS));
      void reply.status(status).send(body);
      return;
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const response = exception.getResponse();
      const detail =
        typeof response === 'object' && response !== null && 'message' in response && status !== 404
          ? (response).message
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
      const conflict = integrityConflict();
      void reply.status(STATUS[conflict.code]).send(prefectErrorBody(conflict, request));
      return;
    }
    this.logError('unhandled error', request, exception);
    void reply.status(500).send({ exception_message: 'Internal Server Error' });
  }

  private logError(message: string, request: FastifyRequest, exception: unknown): void {
    this.logger.error({ message, reqId: request.id, error: exception instanceof Error ? exception.stack : String(exception) });
  }
}

export function httpReason(status: number): string {
  const reasons: Record<number, string> = {
    400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed', 413: 'Request Entity Too Large',
    415: 'Unsupported Media Type', 422: 'Unprocessable Entity',
  };
  return reasons[status] ?? 'Error';
}
