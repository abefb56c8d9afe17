import { AppConfig } from '@app/config';
import { FlowRunBus, NatsClient } from '@app/messaging';
import { Database, PublishedQueue, PublishedRun } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { LoopService } from '@scheduler/loop-service';
import { SchedulerMetrics } from '@scheduler/metrics/scheduler-metrics';
import { DispatcherService } from './dispatcher.service';

const PAGE_SIZE = 200;

/**
 * Postgres and the bus reconciled (I11): every SCHEDULED, due, unleased run recorded as published must have its
 * message on the bus, whatever happened to the bus (a purge, a deleted stream or consumer, a server restarted
 * empty, either app reconnecting first). Each pass first compares, per queue, the runs Postgres counts as waiting
 * with what the queue's consumer holds; only a queue that falls short is checked run by run (its message looked up
 * by the stream sequence its publication was stored under) and the lost runs are published again under a new
 * epoch. The work grows with the published, undelivered runs only, and nothing of it is on the poll path.
 */
@Injectable()
export class ReconcilerService extends LoopService {
  constructor(
    private readonly db: Database,
    private readonly bus: FlowRunBus,
    private readonly dispatcher: DispatcherService,
    private readonly metrics: SchedulerMetrics,
    nats: NatsClient,
    config: AppConfig,
  ) {
    super(ReconcilerService.name, {
      enabled: true,
      intervalSeconds: config.dispatch.reconcileSeconds,
      loop: 'reconciler',
      metrics,
    });
    // A server that restarted may have come back without its store.
    nats.onReconnect(() => this.runSoon());
  }

  /** One pass; resolves to the number of runs published again. */
  async runOnce(): Promise<number> {
    let republished = 0;
    for (const queue of await this.db.repos.delivery.publishedPerQueue()) {
      if (!(await this.fallsShort(queue))) continue;
      const count = await this.republishLost(queue);
      if (count > 0) {
        this.logger.warn(`queue ${queue.work_queue_id}: ${count} runs were missing from the bus; published again`);
      }
      republished += count;
    }
    return republished;
  }

  /** Whether the queue's consumer holds fewer messages than Postgres says wait on it (a missing one holds none). */
  private async fallsShort({ work_pool_id, work_queue_id, published }: PublishedQueue): Promise<boolean> {
    const backlog = await this.bus.queueBacklog(work_pool_id, work_queue_id);
    this.metrics.busBacklogSeen(work_queue_id, backlog);
    // Messages still in the stream flow again through a re-created consumer: create it before checking them.
    if (backlog === null) await this.bus.ensureQueueConsumer(work_pool_id, work_queue_id);
    return backlog === null || backlog < published;
  }

  private async republishLost({ work_pool_id, work_queue_id }: PublishedQueue): Promise<number> {
    let republished = 0;
    let afterId: string | null = null;
    for (;;) {
      const page = await this.db.repos.delivery.publishedOfQueue(work_queue_id, afterId, PAGE_SIZE);
      if (page.length === 0) return republished;
      const present = await Promise.all(page.map((run) => this.onBus(work_pool_id, run)));
      const lost = page.filter((_run, i) => !present[i]);
      if (lost.length > 0) republished += await this.dispatcher.republish(lost);
      afterId = page[page.length - 1].id;
    }
  }

  /**
   * Whether the run's publication is still stored where JetStream put it. The state in the message id is not
   * compared: a `Late` rename carries the publication over to the new state.
   */
  private async onBus(poolId: string, run: PublishedRun): Promise<boolean> {
    if (run.seq === null) return false;
    const stored = await this.bus.storedPublication(poolId, run.seq);
    return stored !== null && stored.runId === run.id && stored.epoch === run.epoch;
  }
}
