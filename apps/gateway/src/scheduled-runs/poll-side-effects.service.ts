import { deploymentStatusEvent, workQueueStatusEvent } from '@app/domain';
import { EventPublisher } from '@app/messaging';
import { Database, PollPool } from '@app/persistence';
import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';

/** At most one bookkeeping write per second for the whole gateway, however many pools and workers poll it. */
const MIN_FLUSH_INTERVAL_MS = 1000;

/**
 * What a poll leaves behind (Prefect's `mark_work_queues_ready` / `mark_deployments_ready`): queues get
 * `last_polled` and NOT_READY ones turn READY, deployments on them turn READY, and each actual transition emits
 * its event. Coalesced across every pool and written off the response path.
 */
@Injectable()
export class PollSideEffects implements OnModuleDestroy {
  private readonly logger = new Logger(PollSideEffects.name);
  /** Polled queues not yet written, with their pool (which their events name). */
  private readonly pending = new Map<string, PollPool>();
  private timer?: NodeJS.Timeout;
  private lastFlush = 0;
  /** Set once the module is being destroyed: the last flush is not retried (the database is going away too). */
  private closed = false;

  constructor(
    private readonly db: Database,
    private readonly events: EventPublisher,
  ) {}

  record(pool: PollPool, queueIds: string[]): void {
    queueIds.forEach((id) => this.pending.set(id, pool));
    this.schedule();
  }

  private schedule(): void {
    if (this.timer || this.pending.size === 0 || this.closed) return;
    const delay = Math.max(0, this.lastFlush + MIN_FLUSH_INTERVAL_MS - Date.now());
    this.timer = setTimeout(() => void this.flush(), delay);
  }

  private async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.lastFlush = Date.now();
    const polled = new Map(this.pending);
    this.pending.clear();
    if (polled.size === 0) return;
    const queueIds = [...polled.keys()];
    try {
      await this.db.transaction(async (tx) => {
        const polledAt = new Date();
        const readiedQueues = await tx.delivery.recordQueuePolls(queueIds, polledAt);
        const readiedDeployments = await tx.delivery.markDeploymentsReady(queueIds, polledAt);
        tx.afterCommit(() =>
          this.events.publish([
            ...readiedQueues.map((queue) => workQueueStatusEvent('READY', queue, polled.get(queue.id)!, polledAt)),
            ...readiedDeployments.map((deployment) =>
              deploymentStatusEvent(
                'READY',
                deployment,
                deployment.work_queue_id ? (polled.get(deployment.work_queue_id) ?? null) : null,
                polledAt,
              ),
            ),
          ]),
        );
      });
    } catch (error) {
      this.logger.warn(`recording polls of ${queueIds.length} queues failed: ${String(error)}`);
      polled.forEach((pool, id) => this.pending.has(id) || this.pending.set(id, pool));
      this.schedule();
    }
  }

  /** Writes what is pending before the process goes away. */
  async onModuleDestroy(): Promise<void> {
    this.closed = true;
    await this.flush();
  }
}
