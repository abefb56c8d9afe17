import { formatPreciseDateTime, parsePreciseDateTime, PrefectEvent } from '@app/contracts';
import { EventFilter, eventFilterIncludes, MAXIMUM_WEBSOCKET_BACKFILL_MS } from '@app/domain';
import { EventPublisher, UnreadBody } from '@app/messaging';
import { Injectable, Logger, OnApplicationBootstrap } from '@nestjs/common';

/**
 * Recent events kept for backfill, besides the age bound (at most some 20 MB). Prefect's server reads its backfill
 * from its events table; here the gateway keeps what it saw on NATS, so nothing is polled.
 */
export const MAX_RECENT_EVENTS = 10_000;
const PRUNE_STEP = 1000;

/** An event as `/api/events/out` sends it: Prefect's `ReceivedEvent`, `received` stamped. */
export type OutgoingEvent = PrefectEvent & { received: string };

/**
 * An event as it arrived: read only once a subscriber needs it (most never are: the gateway publishes an event per
 * state it commits, and reading each one back cost the bulk route a tenth of its time), then kept read.
 */
interface Recent {
  body: UnreadBody<PrefectEvent>;
  arrivedAt: number;
  /** Read: the event, or null when the message was not one. */
  event?: OutgoingEvent | null;
}

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

/** Only what has the shape `eventFilterIncludes` reads is streamed; anything else on the subject is not an event. */
function outgoing(value: unknown, now: Date): OutgoingEvent | null {
  if (!isObject(value) || typeof value.id !== 'string' || typeof value.event !== 'string') return null;
  if (!isObject(value.resource) || !Array.isArray(value.related) || !value.related.every(isObject)) return null;
  const occurred = parsePreciseDateTime(value.occurred);
  if (!occurred) return null;
  const event = value as unknown as PrefectEvent;
  return {
    occurred,
    event: event.event,
    resource: event.resource,
    related: event.related,
    payload: isObject(event.payload) ? event.payload : {},
    id: event.id,
    follows: event.follows ?? null,
    // Events the server emits itself are published without it; Prefect stamps them as it publishes them.
    received: parsePreciseDateTime(event.received) ?? formatPreciseDateTime(now),
  };
}

/**
 * The gateway's one subscription to every event on NATS, shared by all `/api/events/out` sockets (so a socket
 * costs no NATS subscription, and none can be left behind by a client that vanished or an outage), and the
 * recent events a new subscriber may ask to be backfilled: the last {@link MAXIMUM_WEBSOCKET_BACKFILL_MS} (Prefect's
 * longest backfill), at most {@link MAX_RECENT_EVENTS}, since this process started.
 */
@Injectable()
export class EventStream implements OnApplicationBootstrap {
  private readonly logger = new Logger(EventStream.name);
  private readonly subscribers = new Set<{ filter: EventFilter; send: (event: OutgoingEvent) => void }>();
  private recent: Recent[] = [];

  constructor(private readonly events: EventPublisher) {}

  onApplicationBootstrap(): void {
    this.events.onEvent((body) => this.distribute(body));
  }

  /**
   * Sends `send` every event the filter includes from now on until the returned function is called — after the
   * recent ones it includes, oldest first, when `backfill` is asked for. Both happen in one turn of the event loop,
   * so no event is missed or sent twice between the two.
   */
  subscribe(filter: EventFilter, backfill: boolean, send: (event: OutgoingEvent) => void): () => void {
    if (backfill) {
      this.prune(Date.now());
      this.recent
        .map((recent) => this.read(recent))
        .filter((event): event is OutgoingEvent => event !== null && eventFilterIncludes(filter, event))
        .sort((a, b) => (a.occurred < b.occurred ? -1 : a.occurred > b.occurred ? 1 : 0))
        .forEach(send);
    }
    const subscriber = { filter, send };
    this.subscribers.add(subscriber);
    return () => this.subscribers.delete(subscriber);
  }

  get subscriberCount(): number {
    return this.subscribers.size;
  }

  private distribute(body: UnreadBody<PrefectEvent>): void {
    const recent: Recent = { body, arrivedAt: Date.now() };
    this.recent.push(recent);
    this.prune(recent.arrivedAt);
    if (this.subscribers.size === 0) return;
    const event = this.read(recent);
    if (event === null) return;
    for (const subscriber of this.subscribers) {
      try {
        if (eventFilterIncludes(subscriber.filter, event)) subscriber.send(event);
      } catch (error) {
        this.logger.error(
          `events/out: an event was not sent: ${error instanceof Error ? error.message : String(error)}`,
        );
      }
    }
  }

  /** The event `recent` holds, read on first use and stamped `received` as it arrived; null (warned once) if none. */
  private read(recent: Recent): OutgoingEvent | null {
    if (recent.event !== undefined) return recent.event;
    let value: unknown;
    try {
      value = recent.body.read();
    } catch {
      value = undefined;
    }
    recent.event = outgoing(value, new Date(recent.arrivedAt));
    if (recent.event === null) this.logger.warn('dropped a message on the events subjects: not an event');
    return recent.event;
  }

  private prune(now: number): void {
    const oldest = now - MAXIMUM_WEBSOCKET_BACKFILL_MS;
    // Cut by count in steps, so a full buffer is not copied on every event.
    let drop = this.recent.length > MAX_RECENT_EVENTS + PRUNE_STEP ? this.recent.length - MAX_RECENT_EVENTS : 0;
    while (drop < this.recent.length && this.recent[drop].arrivedAt < oldest) drop += 1;
    if (drop > 0) this.recent = this.recent.slice(drop);
  }
}
