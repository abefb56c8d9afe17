import type { Socket } from 'node:net';
import type { RawData, WebSocket } from 'ws';
import { InvalidEventFilterError, readEventFilter } from '@app/domain';
import { EventStream, OutgoingEvent } from './event-stream.service';
import {
  authRefusal,
  isObject,
  PrefectSocketContext,
  textOf,
  WS_1002_PROTOCOL_ERROR,
  WS_1008_POLICY_VIOLATION,
} from './prefect-socket';

export const EVENTS_OUT_PATH = '/api/events/out';
/**
 * Prefect lets at most 256 events wait for one subscriber and drops what comes on top; here what waits is what the
 * socket has not written yet, bounded in bytes.
 */
const MAX_BUFFERED_BYTES = 4 * 1024 * 1024;

/** What every connection shares: the event stream, besides what every events socket shares. */
export interface EventsOutContext extends PrefectSocketContext {
  stream: EventStream;
}

/** Python's truth value of a JSON value, as `if wants_backfill:` reads it. */
const truthy = (value: unknown): boolean =>
  Array.isArray(value) ? value.length > 0 : isObject(value) ? Object.keys(value).length > 0 : Boolean(value);

/**
 * One client's `/api/events/out` connection, as Prefect's `stream_workspace_events_out` serves it. A client that
 * asked for the `prefect` subprotocol (Prefect's `PrefectEventSubscriber` does) first authenticates as on
 * `/api/events/in`; without it the socket is open at once (unless auth is configured: then the upgrade was refused).
 * The next message must be `{"type": "filter", "filter": <EventFilter>}` (optionally `"backfill": false`), else the
 * socket is closed with 1002 and Prefect's reason (an invalid filter drops it, as on Prefect's server). Then every event the filter includes is sent as
 * `{"type": "event", "event": <ReceivedEvent>}`: first the recent ones (unless backfill is turned off), oldest
 * first, then each as it is published, until the client goes. Messages after the filter are ignored, as Prefect's
 * endpoint never reads them. A message that is not JSON fails Prefect's endpoint, and uvicorn drops the connection
 * without a close frame: so does this.
 */
export class EventsOutConnection {
  private stage: 'auth' | 'filter' | 'streaming' | 'ended';
  private unsubscribe: (() => void) | null = null;

  static serve(socket: WebSocket, rawSocket: Socket, context: EventsOutContext): void {
    const connection = new EventsOutConnection(socket, rawSocket, context);
    socket.on('message', (data: RawData, isBinary: boolean) => connection.handle(data, isBinary));
    socket.on('close', () => connection.end());
  }

  private constructor(
    private readonly socket: WebSocket,
    private readonly rawSocket: Socket,
    private readonly context: EventsOutContext,
  ) {
    this.stage = socket.protocol === 'prefect' ? 'auth' : 'filter';
    if (this.stage === 'filter') context.connections.settle(rawSocket);
  }

  private handle(data: RawData, isBinary: boolean): void {
    if (this.stage === 'streaming' || this.stage === 'ended') return;
    let message: unknown;
    try {
      if (isBinary) throw new Error('Expected a text message');
      message = JSON.parse(textOf(data));
      // Prefect's endpoint fails on a message it cannot index as an object, or (past the auth) without a `type`.
      if (!isObject(message) || (this.stage === 'filter' && !('type' in message))) {
        throw new Error('Expected a message object with a type');
      }
    } catch (error) {
      this.context.logger.warn({
        message: 'events/out: unreadable message, connection dropped',
        reason: error instanceof Error ? error.message : String(error),
      });
      this.end();
      this.socket.terminate();
      return;
    }
    if (this.stage === 'auth') this.authenticate(message);
    else this.subscribe(message);
  }

  private authenticate(message: Record<string, unknown>): void {
    const refusal = authRefusal(message, this.context.auth);
    if (refusal !== null) {
      this.refuse(WS_1008_POLICY_VIOLATION, refusal);
      return;
    }
    this.stage = 'filter';
    this.context.connections.settle(this.rawSocket);
    this.socket.send(JSON.stringify({ type: 'auth_success' }));
  }

  private subscribe(message: Record<string, unknown>): void {
    if (message.type !== 'filter') {
      this.refuse(WS_1002_PROTOCOL_ERROR, "Expected 'filter' message");
      return;
    }
    // Prefect reads `message["filter"]` inside its try: a missing one is refused with the KeyError's text.
    if (!('filter' in message)) {
      this.refuse(WS_1002_PROTOCOL_ERROR, "Invalid filter: 'filter'");
      return;
    }
    let filter;
    try {
      filter = readEventFilter(message.filter, new Date());
    } catch (error) {
      if (!(error instanceof InvalidEventFilterError)) throw error;
      // Prefect closes with `Invalid filter: <pydantic's message>`, which never fits in a close frame (its link to
      // pydantic's docs alone is too long): the close fails and uvicorn drops the connection without one.
      this.context.logger.warn({ message: 'events/out: invalid filter, connection dropped', reason: error.message });
      this.end();
      this.socket.terminate();
      return;
    }
    this.stage = 'streaming';
    const backfill = !('backfill' in message) || truthy(message.backfill);
    this.unsubscribe = this.context.stream.subscribe(filter, backfill, (event) => this.send(event));
  }

  private send(event: OutgoingEvent): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    if (this.socket.bufferedAmount > MAX_BUFFERED_BYTES) {
      this.context.logger.warn({ message: 'events/out: client too slow, event dropped', id: event.id });
      return;
    }
    this.socket.send(JSON.stringify({ type: 'event', event }));
  }

  private refuse(code: number, reason: string): void {
    this.context.logger.warn({ message: 'events/out connection refused', reason });
    this.end();
    this.socket.close(code, reason);
  }

  private end(): void {
    this.stage = 'ended';
    this.unsubscribe?.();
    this.unsubscribe = null;
  }
}
