import { DispatchSignals, FlowRunBus } from '@app/messaging';
import { Database, Transaction } from '@app/persistence';
import { Injectable } from '@nestjs/common';

/**
 * Keeps the bus in step with pools and queues. Pausing purges their messages (so NATS-native workers stop
 * receiving them too) and marks their runs for publication again; resuming wakes the dispatcher; deleting drops
 * the stream or consumer; each of these also tells the gateways to forget the pool they cached. Bus work runs only
 * after the transaction that justified it has committed.
 */
@Injectable()
export class WorkPoolDelivery {
  constructor(
    private readonly db: Database,
    private readonly bus: FlowRunBus,
    private readonly signals: DispatchSignals,
  ) {}

  async queuePauseChanged(tx: Transaction, workPoolId: string, workQueueId: string, paused: boolean): Promise<void> {
    this.announceChange(tx, workPoolId);
    if (paused) {
      await tx.delivery.forgetDispatches([workQueueId]);
      tx.afterCommit(async () => {
        await this.bus.purgeQueue(workPoolId, workQueueId);
        await this.republishIfResumed(workPoolId, [workQueueId]);
      });
    } else {
      tx.afterCommit(() => this.signals.requestDispatch(workPoolId));
    }
  }

  async poolPauseChanged(tx: Transaction, workPoolId: string, paused: boolean): Promise<void> {
    this.announceChange(tx, workPoolId);
    if (paused) {
      const queues = await tx.delivery.queuesOfPool(workPoolId);
      await tx.delivery.forgetDispatches(queues.map((queue) => queue.id));
      tx.afterCommit(async () => {
        await this.bus.purgePool(workPoolId);
        await this.republishIfResumed(
          workPoolId,
          queues.map((queue) => queue.id),
        );
      });
    } else {
      tx.afterCommit(() => this.signals.requestDispatch(workPoolId));
    }
  }

  /**
   * A resume committed while the purge was on its way may have had its runs republished, and the purge then
   * removed them: if the queues are active again by now, publish them once more.
   */
  private async republishIfResumed(workPoolId: string, workQueueIds: string[]): Promise<void> {
    const active = [];
    for (const id of workQueueIds) if (await this.db.repos.delivery.isQueueActive(id)) active.push(id);
    if (active.length === 0) return;
    await this.db.repos.delivery.forgetDispatches(active);
    this.signals.requestDispatch(workPoolId);
  }

  queueDeleted(tx: Transaction, workPoolId: string, workQueueId: string): void {
    this.announceChange(tx, workPoolId);
    tx.afterCommit(() => this.bus.deleteQueue(workPoolId, workQueueId));
  }

  poolDeleted(tx: Transaction, workPoolId: string): void {
    this.announceChange(tx, workPoolId);
    tx.afterCommit(() => this.bus.deletePool(workPoolId));
  }

  /** Polls read pools and queues from a cache: every gateway forgets this pool once the change has committed. */
  private announceChange(tx: Transaction, workPoolId: string): void {
    tx.afterCommit(() => this.signals.announcePoolChanged(workPoolId));
  }
}
