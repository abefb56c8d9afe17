import fastifyWebsocket from '@fastify/websocket';
import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance, preValidationHookHandler } from 'fastify';
import type { WebSocket } from 'ws';
import type { ApiAuth } from '@app/observability';
import type { ConnectionCap } from '@gateway/http/connection-cap';
import { EventStream } from './event-stream.service';
import { EVENTS_IN_PATH, EventsInConnection } from './events-in.socket';
import { EventsInService } from './events-in.service';
import { EVENTS_OUT_PATH, EventsOutConnection } from './events-out.socket';
import { offersPrefectProtocol } from './prefect-socket';

/** uvicorn's default `ws_max_size`: the largest message a Prefect server takes. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;

/** The paths whose upgrade requests authenticate by their first message, not by headers. */
export const EVENT_SOCKET_PATHS: readonly string[] = [EVENTS_IN_PATH, EVENTS_OUT_PATH];

/**
 * Serves the events websockets `/api/events/in` and `/api/events/out` on the application's Fastify instance (call
 * before `init()`/`listen()`). `@fastify/websocket` is registered in a scope of its own, so that it only takes over
 * these routes: an upgrade request to any other path — the worker channel `/work_pools/{name}/workers/connect` — is
 * answered like a plain GET, 404, and the Prefect client falls back to REST.
 */
export async function serveEventSockets(
  app: NestFastifyApplication,
  auth: ApiAuth | null,
  connections: ConnectionCap,
): Promise<void> {
  const inContext = { events: app.get(EventsInService), auth, connections, logger: new Logger('events-in') };
  const outContext = { stream: app.get(EventStream), auth, connections, logger: new Logger('events-out') };
  // Prefect refuses the handshake (uvicorn answers 403) of a client that cannot do the auth handshake.
  const requirePrefectProtocolWithAuth =
    (logger: Logger, name: string): preValidationHookHandler =>
    (request, reply, done) => {
      if (auth !== null && !offersPrefectProtocol(request.headers['sec-websocket-protocol'])) {
        logger.warn({
          message: `${name} connection refused: 'prefect' subprotocol required when auth is configured`,
        });
        void reply.code(403).send();
        return;
      }
      done();
    };
  await app.register(async (scope: FastifyInstance) => {
    await scope.register(fastifyWebsocket, {
      options: {
        maxPayload: MAX_MESSAGE_BYTES,
        handleProtocols: (protocols: Set<string>) => (protocols.has('prefect') ? 'prefect' : false),
      },
    });
    scope.get(
      EVENTS_IN_PATH,
      { websocket: true, preValidation: requirePrefectProtocolWithAuth(inContext.logger, 'events/in') },
      (socket: WebSocket, request) => EventsInConnection.serve(socket, request.raw.socket, inContext),
    );
    scope.get(
      EVENTS_OUT_PATH,
      { websocket: true, preValidation: requirePrefectProtocolWithAuth(outContext.logger, 'events/out') },
      (socket: WebSocket, request) => EventsOutConnection.serve(socket, request.raw.socket, outContext),
    );
  });
}
