import fastifyWebsocket from '@fastify/websocket';
import { Logger } from '@nestjs/common';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import type { FastifyInstance } from 'fastify';
import type { Socket } from 'node:net';
import type { RawData, WebSocket } from 'ws';
import { InvalidEventError } from '@app/domain';
import type { ApiAuth } from '@app/observability';
import type { ConnectionCap } from '../http/connection-cap';
import { EventsInService } from './events-in.service';

export const EVENTS_IN_PATH = '/api/events/in';
/** uvicorn's default `ws_max_size`: the largest message a Prefect server takes. */
const MAX_MESSAGE_BYTES = 16 * 1024 * 1024;
const WS_1008_POLICY_VIOLATION = 1008;

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** What every connection shares: where events go, the API's credentials (null: auth off), the connection cap. */
interface EventsInContext {
  events: EventsInService;
  auth: ApiAuth | null;
  connections: ConnectionCap;
  logger: Logger;
}

/**
 * One client's `/api/events/in` connection, as Prefect's `stream_events_in` serves it. A client that asked for
 * the `prefect` subprotocol (Prefect 3.9's `PrefectEventsClient` does) must first send `{"type": "auth"}` and is
 * answered `{"type": "auth_success"}`; with an auth string configured, the message's `token` must be it, else
 * the socket is closed with 1008 and Prefect's reason. Any other first message closes the socket with 1008.
 * Without the subprotocol the socket is open at once (Prefect's legacy mode), unless auth is configured. Until
 * it is open, the connection may be evicted by the connection cap like any client still sending its request.
 * Then every text message is one event, handled one after the other in arrival order. A message that is not an
 * event fails Prefect's endpoint, and uvicorn drops the connection without a close frame: so does this, and the
 * client reconnects and resends what it had not seen confirmed. Pings are answered by `ws` itself, which is all
 * the client's checkpoints ask for.
 */
class EventsInConnection {
  private pending: Promise<void> = Promise.resolve();
  private authenticated: boolean;
  /** Set once this side ended the connection: messages still queued are not taken in then. */
  private ended = false;

  static serve(socket: WebSocket, rawSocket: Socket, context: EventsInContext): void {
    const connection = new EventsInConnection(socket, rawSocket, context);
    socket.on('message', (data: RawData, isBinary: boolean) => {
      connection.pending = connection.pending.then(() => connection.handle(data, isBinary));
    });
  }

  private constructor(
    private readonly socket: WebSocket,
    private readonly rawSocket: Socket,
    private readonly context: EventsInContext,
  ) {
    this.authenticated = socket.protocol !== 'prefect';
    if (this.authenticated) context.connections.settle(rawSocket);
  }

  /**
   * Messages that arrived before the client closed are still taken in (Prefect reads them off its queue): a
   * client sends its last events and closes at once.
   */
  private async handle(data: RawData, isBinary: boolean): Promise<void> {
    if (this.ended) return;
    try {
      if (isBinary) throw new InvalidEventError('Expected a text message');
      const text = (
        Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data)
      ).toString('utf8');
      if (this.authenticated) await this.context.events.receive(text);
      else this.authenticate(text);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      if (error instanceof InvalidEventError || error instanceof SyntaxError) {
        this.context.logger.warn({ message: 'events/in: not an event, connection dropped', reason });
      } else this.context.logger.error({ message: 'events/in: event not taken in, connection dropped', reason });
      this.ended = true;
      this.socket.terminate();
    }
  }

  private authenticate(text: string): void {
    const message: unknown = JSON.parse(text);
    if (!isObject(message)) throw new InvalidEventError('Expected an auth message object');
    if (message.type !== 'auth') {
      this.refuse("Expected 'auth' message");
      return;
    }
    const { auth } = this.context;
    if (auth !== null) {
      // Prefect refuses any falsy token as missing.
      if (!message.token) {
        this.refuse('Auth required but no token provided');
        return;
      }
      if (typeof message.token !== 'string' || !auth.acceptsToken(message.token)) {
        this.refuse('Invalid token');
        return;
      }
    }
    this.authenticated = true;
    this.context.connections.settle(this.rawSocket);
    this.socket.send(JSON.stringify({ type: 'auth_success' }));
  }

  private refuse(reason: string): void {
    this.context.logger.warn({ message: 'events/in connection refused', reason });
    this.ended = true;
    this.socket.close(WS_1008_POLICY_VIOLATION, reason);
  }
}

const offersPrefectProtocol = (header: string | string[] | undefined): boolean =>
  [header ?? []].flat().some((value) => value.split(',').some((protocol) => protocol.trim() === 'prefect'));

/**
 * Serves the `/api/events/in` websocket on the application's Fastify instance (call before `init()`/`listen()`).
 * `@fastify/websocket` is registered in a scope of its own, so that it only takes over this route: an upgrade
 * request to any other path — the worker channel `/work_pools/{name}/workers/connect`, `/events/out` — is
 * answered like a plain GET, 404, and the Prefect client falls back to REST or polling.
 */
export async function serveEventsIn(
  app: NestFastifyApplication,
  auth: ApiAuth | null,
  connections: ConnectionCap,
): Promise<void> {
  const logger = new Logger('events-in');
  const context: EventsInContext = { events: app.get(EventsInService), auth, connections, logger };
  await app.register(async (scope: FastifyInstance) => {
    await scope.register(fastifyWebsocket, {
      options: {
        maxPayload: MAX_MESSAGE_BYTES,
        handleProtocols: (protocols: Set<string>) => (protocols.has('prefect') ? 'prefect' : false),
      },
    });
    scope.get(
      EVENTS_IN_PATH,
      {
        websocket: true,
        // Prefect refuses the handshake (uvicorn answers 403) of a client that cannot do the auth handshake.
        preValidation: (request, reply, done) => {
          if (auth !== null && !offersPrefectProtocol(request.headers['sec-websocket-protocol'])) {
            logger.warn({
              message: "events/in connection refused: 'prefect' subprotocol required when auth is configured",
            });
            void reply.code(403).send();
            return;
          }
          done();
        },
      },
      (socket: WebSocket, request) => {
        EventsInConnection.serve(socket, request.raw.socket, context);
      },
    );
  });
}
