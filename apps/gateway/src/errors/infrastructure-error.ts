import { DomainError, invalid, serviceUnavailable } from '@app/domain';
import { isNatsUnavailable } from '@app/messaging';
import { isDatabaseUnavailable, isUnstorableValue } from '@app/persistence';

/**
 * Infrastructure errors as the domain errors they amount to, for every exception filter:
 * Postgres or NATS down (503, retry), or a value Postgres refused that validation let through (422: the request
 * is at fault, never the server).
 */
export function asDomainError(exception: unknown): DomainError | null {
  if (isDatabaseUnavailable(exception) || isNatsUnavailable(exception)) return serviceUnavailable();
  if (isUnstorableValue(exception)) return invalid('Invalid request: a value cannot be stored.');
  return null;
}
