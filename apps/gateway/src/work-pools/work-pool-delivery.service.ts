import { DispatchSignals, FlowRunBus } from '@app/messaging';
import { Transaction } from '@app/persistence';
import { Injectable } from '@nestjs/common';

/**
 * Keeps the bus in step with pools and queues. Pausing purges their messages (so NATS-native workers stop
 * receiving them too) and marks their runs for publication again; resuming wakes the dispatcher; deleting drops
 * the stream or consumer. Bus work runs only after the transaction that justified it has committed.
 */
@Injectable()
export class WorkPoolDelivery {
  constructor(
    private readonly bus: FlowRunBus,
    private readonly signals: DispatchSignals,
  ) {}

  async queuePauseChanged(tx: Transaction, workPoolId: string, workQueueId: string, paused: boolean): Promise<void> {
    if (paused) {
      await tx.delivery.forgetDispatches([workQueueId]);
      tx.afterCommit(() => this.bus.purgeQueue(workPoolId, workQueueId));
    } else {
      tx.afterCommit(() => this.signals.requestDispatch(workPoolId));
    }
  }

  async poolPauseChanged(tx: Transaction, workPoolId: string, paused: boolean): Promise<void> {
    if (paused) {
      const queues = await tx.delivery.queuesOfPool(workPoolId);
      await tx.delivery.forgetDispatches(queues.map((queue) => queue.id));
      tx.afterCommit(() => this.bus.purgePool(workPoolId));
    } else {
      tx.afterCommit(() => this.signals.requestDispatch(workPoolId));
    }
  }

  queueDeleted(tx: Transaction, workPoolId: string, workQueueId: string): void {
    tx.afterCommit(() => this.bus.deleteQueue(workPoolId, workQueueId));
  }

  poolDeleted(tx: Transaction, workPoolId: string): void {
    tx.afterCommit(() => this.bus.deletePool(workPoolId));
  }
}
