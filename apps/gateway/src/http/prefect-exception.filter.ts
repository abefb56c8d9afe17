import { DomainError, DomainErrorCode } from '@app/domain';
import { ArgumentsHost, Catch, ExceptionFilter, HttpException, Logger } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';

const STATUS: Record<DomainErrorCode, number> = {
  not_found: 404,
  object_not_found: 404,
  conflict: 409,
  forbidden: 403,
  invalid: 422,
  validation: 422,
};

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
      return { exception_message: error.message };
    default:
      return { detail: error.message };
  }
}

/** The single place where errors become HTTP responses. */
@Catch()
export class PrefectExceptionFilter implements ExceptionFilter {
  private readonly logger = new Logger('http');

  catch(exception: unknown, host: ArgumentsHost): void {
    const context = host.switchToHttp();
    const reply = context.getResponse<FastifyReply>();
    const request = context.getRequest<FastifyRequest>();
    if (exception instanceof DomainError) {
      void reply.status(STATUS[exception.code]).send(prefectErrorBody(exception, request));
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
    this.logger.error({
      message: 'unhandled error',
      reqId: request.id,
      error: exception instanceof Error ? exception.stack : String(exception),
    });
    void reply.status(500).send({ exception_message: 'Internal Server Error' });
  }
}

export function httpReason(status: number): string {
  const reasons: Record<number, string> = {
    400: 'Bad Request', 404: 'Not Found', 405: 'Method Not Allowed', 413: 'Request Entity Too Large',
    415: 'Unsupported Media Type', 422: 'Unprocessable Entity',
  };
  return reasons[status] ?? 'Error';
}
