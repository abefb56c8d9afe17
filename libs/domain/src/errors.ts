import type { PydanticErrorDetail } from '@app/contracts';

/**
 * What went wrong, in domain terms. The gateway's one exception filter turns each code into Prefect's
 * status and body shape; nothing else knows about HTTP.
 */
export type DomainErrorCode =
  | 'bad_request' //        400 {"detail": ...}
  | 'not_found' //          404 {"detail": ...}
  | 'object_not_found' //   404 {"exception_message": ...} (Prefect's ObjectNotFoundError handler)
  | 'conflict' //           409 {"detail": ...}
  | 'forbidden' //          403 {"detail": ...}
  | 'invalid' //            422 {"detail": ...}
  | 'validation' //         422 {"exception_message": "Invalid request received.", "exception_detail": [...]}
  | 'unavailable'; //       503 {"exception_message": "Service Unavailable"} with Retry-After

export class DomainError extends Error {
  constructor(
    readonly code: DomainErrorCode,
    message: string,
    readonly details: PydanticErrorDetail[] = [],
    /** For validation errors raised before the body was parsed: the raw body to echo back. */
    readonly requestBody?: unknown,
  ) {
    super(message);
    this.name = 'DomainError';
  }
}

/** Prefect's answer to a write that breaks a database constraint (its IntegrityError handler). */
const DATA_INTEGRITY_CONFLICT =
  'Data integrity conflict. This usually means a unique or foreign key constraint was violated. See server logs for details.';

export const badRequest = (message: string) => new DomainError('bad_request', message);
export const notFound = (message: string) => new DomainError('not_found', message);
export const objectNotFound = (message: string) => new DomainError('object_not_found', message);
export const conflict = (message: string) => new DomainError('conflict', message);
/** A write Prefect would have failed on a unique, foreign-key or not-null constraint. */
export const integrityConflict = () => conflict(DATA_INTEGRITY_CONFLICT);
export const forbidden = (message: string) => new DomainError('forbidden', message);
export const invalid = (message: string) => new DomainError('invalid', message);
/** Postgres or NATS cannot serve now; the client should retry (Prefect's answer to a retryable database error). */
export const serviceUnavailable = () => new DomainError('unavailable', 'Service Unavailable');
export const validationFailed = (details: PydanticErrorDetail[], requestBody?: unknown) =>
  new DomainError('validation', 'Invalid request received.', details, requestBody);
