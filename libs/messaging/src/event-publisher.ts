import { PrefectEvent } from '@app/contracts';
import { BeforeApplicationShutdown, Injectable, Logger } from '@nestjs/common';
import { outgoing, OutgoingMessage, UnreadBody } from './message-body';
import { NatsClient } from './nats-connection';

/**
 * Events kept in memory while NATS cannot take them (about 1-2 KB each, so some 20 MB at most). Past this bound
 * the oldest are dropped, with a warning naming how many.
 */
export const MAX_PENDING_EVENTS = 10_000;
/** Events sent between two confirmations from the server. */
const BATCH_SIZE = 500;
/** How soon sending is tried again after a failure, besides on every reconnection. */
const RETRY_MS = 1000;

/**
 * Publishes Prefect events on `<namespace>.events.<event name>` (core NATS; subscribers filter by name), oldest
 * first. An event is forgotten only once the server has confirmed receiving it (a flush round trip after it): the
 * NATS client silently discards what it buffered while disconnected, so until then it is kept and sent again
 * (delivery is at least once; an event may arrive twice after a connection was lost mid-batch).
 */
@Injectable()
export class EventPublisher implements BeforeApplicationShutdown {
  private readonly logger = new Logger(EventPublisher.name);
  private pending: OutgoingMessage[] = [];
  private sending = false;
  private retry?: NodeJS.Timeout;

  constructor(private readonly nats: NatsClient) {
    nats.onReconnect(() => void this.send());
  }

  publish(events: PrefectEvent[]): void {
    for (const event of events) this.pending.push(outgoing(this.nats.names.event(event.event), event));
    const excess = this.pending.length - MAX_PENDING_EVENTS;
    if (excess > 0) {
      this.pending = this.pending.slice(excess);
      this.logger.warn(
        `NATS unavailable: dropped the ${excess} oldest of the events waiting to be published (at most ${MAX_PENDING_EVENTS} are kept)`,
      );
    }
    void this.send();
  }

  /**
   * Every event published on NATS from now on, by any process, as it arrives (core NATS: at most once per
   * subscriber while connected; the subscription outlives reconnections, and what was kept during an outage
   * arrives once it is sent). Handed over unread: reading costs more than anything else done with an event that no
   * one asks for.
   */
  onEvent(handler: (event: UnreadBody<PrefectEvent>) => void): void {
    this.nats.subscribeUnread(this.nats.names.allEvents, (event) => handler(event));
  }

  private async send(): Promise<void> {
    if (this.sending) return;
    this.sending = true;
    clearTimeout(this.retry);
    try {
      while (this.pending.length > 0 && this.nats.isConnected) {
        const batch = this.pending.slice(0, BATCH_SIZE);
        for (const event of batch) this.nats.send(event);
        await this.nats.connection.flush();
        // Events dropped for the bound meanwhile may have taken some of the batch's place at the front.
        const sent = new Set(batch);
        this.pending = this.pending.filter((event) => !sent.has(event));
      }
    } catch (error) {
      this.logger.warn(
        `publishing events failed, ${this.pending.length} kept for a retry: ${error instanceof Error ? error.message : String(error)}`,
      );
    } finally {
      this.sending = false;
    }
    if (this.pending.length > 0 && !this.nats.connection.isClosed()) {
      this.retry = setTimeout(() => void this.send(), RETRY_MS);
      this.retry.unref();
    }
  }

  /** A last attempt before the connection is drained; what NATS still cannot take is lost, and logged. */
  async beforeApplicationShutdown(): Promise<void> {
    clearTimeout(this.retry);
    await this.send();
    clearTimeout(this.retry);
    if (this.pending.length > 0) {
      this.logger.error(`shutting down with ${this.pending.length} events NATS did not take`);
    }
  }
}
