import { PrefectEvent } from '@app/contracts';
import { Injectable } from '@nestjs/common';
import { NatsClient } from './nats-connection';

/** Publishes Prefect events on `<namespace>.events.<event name>` (core NATS; subscribers filter by name). */
@Injectable()
export class EventPublisher {
  constructor(private readonly nats: NatsClient) {}

  publish(events: PrefectEvent[]): void {
    for (const event of events) this.nats.connection.publish(this.nats.names.event(event.event), JSON.stringify(event));
  }
}
