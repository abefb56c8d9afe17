import { DispatchWake, PoolDispatched } from '@app/contracts';
import { Injectable } from '@nestjs/common';
import { NatsClient } from './nats-connection';

/**
 * Core NATS notices between the apps (fire and forget; losing one only delays work until the next timer):
 * the gateway asks the dispatcher to look for due runs now, the dispatcher tells long polls that runs arrived, and
 * a gateway that paused, resumed or deleted a pool or queue tells the others to forget what they cached of it.
 */
@Injectable()
export class DispatchSignals {
  constructor(private readonly nats: NatsClient) {}

  /** Something that may make a run due was committed (a run created or rescheduled, a queue resumed). */
  requestDispatch(workPoolId: string | null = null): void {
    const body: DispatchWake = { work_pool_id: workPoolId };
    this.nats.connection.publish(this.nats.names.dispatchWake, JSON.stringify(body));
  }

  onDispatchRequested(handler: () => void): void {
    this.nats.connection.subscribe(this.nats.names.dispatchWake, { callback: () => handler() });
  }

  /** Runs were just put on these queues of the pool. */
  announceDispatched(workPoolId: string, workQueueIds: string[]): void {
    const body: PoolDispatched = { work_queue_ids: workQueueIds };
    this.nats.connection.publish(this.nats.names.poolDispatched(workPoolId), JSON.stringify(body));
  }

  onDispatched(handler: (workPoolId: string) => void): void {
    this.subscribeByPool(this.nats.names.poolDispatched, handler);
  }

  /** The pool, or one of its queues, was paused, resumed or deleted. */
  announcePoolChanged(workPoolId: string): void {
    this.nats.connection.publish(this.nats.names.poolChanged(workPoolId));
  }

  onPoolChanged(handler: (workPoolId: string) => void): void {
    this.subscribeByPool(this.nats.names.poolChanged, handler);
  }

  private subscribeByPool(subject: (poolId: string) => string, handler: (workPoolId: string) => void): void {
    const prefix = subject('');
    this.nats.connection.subscribe(subject('*'), {
      callback: (error, msg) => {
        if (!error) handler(msg.subject.slice(prefix.length));
      },
    });
  }
}
