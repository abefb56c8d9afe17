import { JetStreamApiError, JetStreamError } from '@nats-io/jetstream';
import {
  ClosedConnectionError,
  ConnectionError,
  DrainingConnectionError,
  NoRespondersError,
  RequestError,
  TimeoutError,
} from '@nats-io/transport-node';

/** NATS cannot serve a request now, as this process sees it (disconnected, or JetStream not answering). */
export class NatsUnavailableError extends Error {
  override name = 'NatsUnavailableError';
}

const UNAVAILABLE = [
  NatsUnavailableError,
  ClosedConnectionError,
  ConnectionError,
  DrainingConnectionError,
  NoRespondersError,
  RequestError,
  TimeoutError,
];

/**
 * Whether an error says NATS (or its JetStream) cannot serve now: disconnected or reconnecting, a request that
 * timed out or found no responders, JetStream answering 503 or 408. The same request may succeed later.
 */
export function isNatsUnavailable(error: unknown): boolean {
  if (UNAVAILABLE.some((type) => error instanceof type)) return true;
  if (error instanceof JetStreamApiError) return error.status === 503;
  // A JetStream status reply (its class is not exported): 503 no responders / unavailable, 408 timed out.
  const status = (error as { code?: unknown }).code;
  return error instanceof JetStreamError && (status === 503 || status === 408);
}
