import type { Socket } from 'node:net';
import type { RawData, WebSocket } from 'ws';
import { InvalidEventError } from '@app/domain';
import { EventsInService } from './events-in.service';
import { authRefusal, isObject, PrefectSocketContext, textOf, WS_1008_POLICY_VIOLATION } from './prefect-socket';

export const EVENTS_IN_PATH = '/api/events/in';

/** What every connection shares: where events go, besides what every events socket shares. */
export interface EventsInContext extends PrefectSocketContext {
  events: EventsInService;
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
export class EventsInConnection {
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
      const text = textOf(data);
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
    const refusal = authRefusal(message, this.context.auth);
    if (refusal !== null) {
      this.refuse(refusal);
      return;
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
