import type { Logger } from '@nestjs/common';
import type { RawData } from 'ws';
import type { ApiAuth } from '@app/observability';
import type { ConnectionCap } from '@gateway/http/connection-cap';

export const WS_1002_PROTOCOL_ERROR = 1002;
export const WS_1008_POLICY_VIOLATION = 1008;

/** What every events socket shares: the API's credentials (null: auth off), the connection cap, a logger. */
export interface PrefectSocketContext {
  auth: ApiAuth | null;
  connections: ConnectionCap;
  logger: Logger;
}

export const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

export const offersPrefectProtocol = (header: string | string[] | undefined): boolean =>
  [header ?? []].flat().some((value) => value.split(',').some((protocol) => protocol.trim() === 'prefect'));

export const textOf = (data: RawData): string =>
  (Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)).toString('utf8');

/**
 * Prefect's `accept_prefect_socket` on the first message of a client that asked for the `prefect` subprotocol:
 * null when it may go on, else the reason the socket is closed with 1008. It must be `{"type": "auth"}`; with an
 * auth string configured its `token` must be that string (any falsy token counts as missing, as in Prefect).
 */
export function authRefusal(message: Record<string, unknown>, auth: ApiAuth | null): string | null {
  if (message.type !== 'auth') return "Expected 'auth' message";
  if (auth === null) return null;
  if (!message.token) return 'Auth required but no token provided';
  if (typeof message.token !== 'string' || !auth.acceptsToken(message.token)) return 'Invalid token';
  return null;
}
