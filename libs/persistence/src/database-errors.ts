import { QueryFailedError } from 'typeorm';

/** The driver's error behind a TypeORM error (a failed query wraps it; a failed connect throws it bare). */
function driverError(error: unknown): { code?: unknown; message?: unknown } | undefined {
  const driver: unknown = error instanceof QueryFailedError ? error.driverError : error;
  return typeof driver === 'object' && driver !== null ? driver : undefined;
}

/** Socket errors of a connection to Postgres that could not be opened or was lost. */
const NETWORK_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
]);

/**
 * SQLSTATEs of a database that is down or busy, not of a bad request: 08 connection exceptions, 53 insufficient
 * resources (too many connections), 57P01-57P03 (admin or crash shutdown, cannot connect now), 57014 (query
 * cancelled, a statement timeout), 40001/40P01 (serialization failure, deadlock). Prefect's server answers these
 * (its `is_client_retryable_exception`) with 503 so that clients retry.
 */
const RETRYABLE_SQLSTATE = /^(08|53|57P0[123]$|57014$|40001$|40P01$)/;

/** node-postgres reports a lost or timed-out connection only in its message. */
const CONNECTION_MESSAGES = [
  'Connection terminated',
  'timeout exceeded when trying to connect',
  'Client has encountered a connection error',
  'Client was closed and is not queryable',
];

/** Whether an error says Postgres cannot be reached or cannot serve now: the same request may succeed later. */
export function isDatabaseUnavailable(error: unknown): boolean {
  const driver = driverError(error);
  const code = driver?.code;
  if (typeof code === 'string' && (NETWORK_CODES.has(code) || RETRYABLE_SQLSTATE.test(code))) return true;
  const message = driver?.message;
  return typeof message === 'string' && CONNECTION_MESSAGES.some((text) => message.includes(text));
}

/**
 * Whether a query failed on a value of the request that Postgres cannot take: class 22 data exceptions (invalid
 * byte sequence, numeric value out of range, invalid text representation, ...) and 54001 (statement too complex:
 * a value nested too deeply). The request, not the server, is at fault.
 */
export function isUnstorableValue(error: unknown): boolean {
  if (!(error instanceof QueryFailedError)) return false;
  const code = driverError(error)?.code;
  return typeof code === 'string' && (code.startsWith('22') || code === '54001');
}
