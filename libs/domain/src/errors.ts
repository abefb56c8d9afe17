import type { PydanticErrorDetail } from '@app/contracts';

/**
 * What went wrong, in domain terms. {@link domainErrorResponse} turns each code into Prefect's status and body
 * shape, for the gateway's HTTP and NATS exception filters alike.
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
 * A domain error as Prefect answers it: the HTTP status (also a NATS reply's status header) and FastAPI's
 * `{"detail"}` body, or the shapes of Prefect's own handlers. `requestBody` is echoed back by a validation error
 * raised after the body was parsed.
 */
export function domainErrorResponse(error: DomainError, requestBody?: unknown): { status: number; body: unknown } {
  return { status: STATUS[error.code], body: prefectErrorBody(error, requestBody) };
}

function prefectErrorBody(error: DomainError, requestBody: unknown): unknown {
  switch (error.code) {
    case 'validation':
      return {
        exception_message: 'Invalid request received.',
        exception_detail: error.details,
        request_body: error.requestBody ?? requestBody ?? null,
      };
    case 'object_not_found':
    case 'unavailable':
      return { exception_message: error.message };
    default:
      return { detail: error.message };
  }
}
