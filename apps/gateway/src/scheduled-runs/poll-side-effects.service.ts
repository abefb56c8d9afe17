import { deploymentStatusEvent, workQueueStatusEvent } from '@app/domain';
import { EventPublisher } from '@app/messaging';
import { Database, WorkPoolEntity } from '@app/persistence';
import { Injectable, Logger, OnModuleDestroy } from '@nestjs/common';

/** At most one bookkeeping write per pool per second, however many workers poll it. */
const MIN_FLUSH_INTERVAL_MS = 1000;

interface PendingPolls {
  pool: WorkPoolEntity;
  queueIds: Set<string>;
  timer?: NodeJS.Timeout;
  lastFlush: number;
}

/**
 * What a poll leaves behind (Prefect's `mark_work_queues_ready` / `mark_deployments_ready`): queues get
 * `last_polled` and NOT_READY ones turn READY, deployments on them turn READY, and each actual transition emits
 * its event. Coalesced per pool and written off the response path.
 */
@Injectable()
export class PollSideEffects implements OnModuleDestroy {
  private readonly logger = new Logger(PollSideEffects.name);
  private readonly pending = new Map<string, PendingPolls>();

  constructor(
    private readonly db: Database,
    private readonly events: EventPublisher,
  ) {}

  record(pool: WorkPoolEntity, queueIds: string[]): void {
    let entry = this.pending.get(pool.id);
    if (!entry) {
      entry = { pool, queueIds: new Set(), lastFlush: 0 };
      this.pending.set(pool.id, entry);
    }
    entry.pool = pool;
    queueIds.forEach((id) => entry.queueIds.add(id));
    if (entry.timer) return;
    const pending = entry;
    const delay = Math.max(0, pending.lastFlush + MIN_FLUSH_INTERVAL_MS - Date.now());
    pending.timer = setTimeout(() => void this.flush(pending), delay);
  }

  private async flush(entry: PendingPolls): Promise<void> {
    entry.timer = undefined;
    entry.lastFlush = Date.now();
    const queueIds = [...entry.queueIds];
    entry.queueIds.clear();
    if (queueIds.length === 0) return;
    const pool = entry.pool;
    try {
      await this.db.transaction(async (tx) => {
        const polledAt = new Date();
        const readiedQueues = await tx.delivery.recordQueuePolls(queueIds, polledAt);
        const readiedDeployments = await tx.delivery.markDeploymentsReady(queueIds, polledAt);
        tx.afterCommit(() =>
          this.events.publish([
            ...readiedQueues.map((queue) => workQueueStatusEvent('READY', queue, pool, polledAt)),
            ...readiedDeployments.map((deployment) => deploymentStatusEvent('READY', deployment, pool, polledAt)),
          ]),
        );
      });
    } catch (error) {
      this.logger.warn(`recording polls of pool ${pool.name} failed: ${String(error)}`);
      queueIds.forEach((id) => entry.queueIds.add(id));
      if (!entry.timer) entry.timer = setTimeout(() => void this.flush(entry), MIN_FLUSH_INTERVAL_MS);
    }
  }

  /** Writes what is pending before the process goes away. */
  async onModuleDestroy(): Promise<void> {
    const entries = [...this.pending.values()];
    entries.forEach((entry) => clearTimeout(entry.timer));
    await Promise.all(entries.map((entry) => this.flush(entry)));
  }
}
