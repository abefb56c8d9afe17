import { PoolLeased, Subject } from '@app/contracts';
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
    this.nats.publish(this.nats.names.dispatchWake, { work_pool_id: workPoolId });
  }

  onDispatchRequested(handler: () => void): void {
    this.nats.subscribe(this.nats.names.dispatchWake, () => handler());
  }

  /** Runs were just put on these queues of the pool. */
  announceDispatched(workPoolId: string, workQueueIds: string[]): void {
    this.nats.publish(this.nats.names.poolDispatched(workPoolId), { work_queue_ids: workQueueIds });
  }

  onDispatched(handler: (workPoolId: string) => void): void {
    this.subscribeByPool(this.nats.names.poolDispatched, handler);
  }

  /** An HTTP poll of the pool leased runs (committed) until `leaseUntil`. */
  announceLeased(workPoolId: string, leaseUntil: Date, poller: string | null): void {
    this.nats.publish(this.nats.names.poolLeased(workPoolId), { lease_until: leaseUntil.toISOString(), poller });
  }

  onLeased(handler: (workPoolId: string, lease: PoolLeased) => void): void {
    this.subscribeByPool(this.nats.names.poolLeased, handler);
  }

  /** The pool, or one of its queues, was paused, resumed or deleted. */
  announcePoolChanged(workPoolId: string): void {
    this.nats.publish(this.nats.names.poolChanged(workPoolId), undefined);
  }

  onPoolChanged(handler: (workPoolId: string) => void): void {
    this.subscribeByPool(this.nats.names.poolChanged, handler);
  }

  private subscribeByPool<Payload>(
    subject: (poolId: string) => Subject<Payload>,
    handler: (workPoolId: string, payload: Payload) => void,
  ): void {
    const prefix = subject('');
    this.nats.subscribe(subject('*'), (payload, received) => handler(received.slice(prefix.length), payload));
  }
}
