import { DomainError, domainErrorResponse } from '@app/domain';
import { RpcReply } from '@app/messaging';
import { ArgumentsHost, Catch, Logger, RpcExceptionFilter } from '@nestjs/common';
import { Observable, of } from 'rxjs';
import { asDomainError } from './infrastructure-error';

/**
 * The single place where errors become NATS replies: Prefect's status (in the reply's status header) and body, as
 * the HTTP filter answers them. There is no Retry-After here: a NATS worker resends an unanswered or 5xx claim with
 * its own backoff (docs/nats-workers.md).
 */
@Catch()
export class PrefectRpcExceptionFilter implements RpcExceptionFilter {
  private readonly logger = new Logger('nats');

  catch(exception: unknown, host: ArgumentsHost): Observable<RpcReply> {
    const request = host.switchToRpc().getData<unknown>();
    const domainError = exception instanceof DomainError ? exception : asDomainError(exception);
    if (domainError) {
      if (domainError !== exception) {
        // Expected in operation (an outage, a client's bad value): one line, no stack.
        const message = domainError.code === 'unavailable' ? 'service unavailable' : 'request refused by the database';
        this.logger.warn({ message, error: exception instanceof Error ? exception.message : String(exception) });
      }
      return of(domainErrorResponse(domainError, request));
    }
    this.logger.error({
      message: 'unhandled error in a NATS handler',
      error: exception instanceof Error ? exception.stack : String(exception),
    });
    return of({ status: 500, body: { exception_message: 'Internal Server Error' } });
  }
}
