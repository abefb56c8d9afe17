import { AppConfig } from '@app/config';
import { presentWorkerFlowRun } from '@app/domain';
import { DispatchSignals, FlowRunBus } from '@app/messaging';
import { Database, DispatchCandidate, PublishedRun, StoredPublication, Transaction } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { LoopService } from '@scheduler/loop-service';
import { SchedulerMetrics } from '@scheduler/metrics/scheduler-metrics';

const BATCH_SIZE = 200;

/** Why a run is published: due within the horizon, its lease ran out, or the reconciler found it missing. */
type PublicationKind = 'due' | 'expired' | 'republished';
const RETRY_AFTER_ERROR_SECONDS = 1;

/**
 * Puts due flow runs on the bus: every SCHEDULED run whose start time is within the dispatch horizon and that
 * is not yet published in its current state and queue, and every run whose delivery lease ran out unclaimed.
 * Wakes on change notices from the gateway and at the next due time it knows of, not on a slow timer
 * (`DISPATCH_INTERVAL_MS` is only its safety net).
 */
@Injectable()
export class DispatcherService extends LoopService {
  private nextWake: { at: number; timer: NodeJS.Timeout } | null = null;

  constructor(
    private readonly db: Database,
    private readonly bus: FlowRunBus,
    private readonly signals: DispatchSignals,
    private readonly config: AppConfig,
    private readonly metrics: SchedulerMetrics,
  ) {
    super(DispatcherService.name, {
      enabled: true,
      intervalSeconds: config.dispatch.intervalMs / 1000,
      retryAfterErrorSeconds: RETRY_AFTER_ERROR_SECONDS,
      loop: 'dispatcher',
      metrics,
    });
    signals.onDispatchRequested(() => this.wake());
    // A lease recorded after this loop last looked ends unseen otherwise until the safety-net pass; its runs are
    // awaited by held polls (see the gateway's PollSession).
    signals.onLeased((_poolId, lease) => this.wakeAt(Date.parse(lease.lease_until) + 1));
  }

  wake(): void {
    this.metrics.dispatcherWoken();
    this.runSoon();
  }

  /** Wakes at `at` (epoch ms) unless an earlier wake is already set; later ones are found by the pass itself. */
  private wakeAt(at: number): void {
    if (!Number.isFinite(at) || (this.nextWake !== null && this.nextWake.at <= at && this.nextWake.at > Date.now())) {
      return;
    }
    if (this.nextWake) clearTimeout(this.nextWake.timer);
    const timer = setTimeout(
      () => {
        this.nextWake = null;
        this.wake();
      },
      Math.max(0, at - Date.now()),
    );
    timer.unref();
    this.nextWake = { at, timer };
  }

  runOnce(): Promise<number> {
    return this.dispatchDue();
  }

  protected override nextPassAt(_startedAt: number, dueAt: number): number {
    return dueAt;
  }

  /** One pass: publish everything due now; resolves to when the next pass is due (epoch ms). */
  async dispatchDue(): Promise<number> {
    const now = new Date();
    const horizonMs = this.config.dispatch.horizonSeconds * 1000;
    const horizonEnd = new Date(now.getTime() + horizonMs);
    while (
      (await this.dispatchBatch((tx) => tx.delivery.lockUndispatched(horizonEnd, now, BATCH_SIZE), 'due')) ===
      BATCH_SIZE
    );
    while (
      (await this.dispatchBatch((tx) => tx.delivery.lockExpiredLeases(horizonEnd, now, BATCH_SIZE), 'expired')) ===
      BATCH_SIZE
    );
    const [nextRun, nextLeaseExpiry] = await Promise.all([
      this.db.repos.delivery.nextUndispatchedAfter(horizonEnd),
      this.db.repos.delivery.nextLeaseExpiry(now),
    ]);
    return Math.min(
      now.getTime() + this.config.dispatch.intervalMs,
      nextRun ? nextRun.getTime() - horizonMs : Number.POSITIVE_INFINITY,
      nextLeaseExpiry ? nextLeaseExpiry.getTime() + 1 : Number.POSITIVE_INFINITY,
    );
  }

  /**
   * Publishes these runs again under a new epoch, those still waiting unleased in the publication given (the
   * reconciler found their message gone from the bus). The old message, should it turn up, is then stale.
   */
  republish(runs: PublishedRun[]): Promise<number> {
    return this.dispatchBatch((tx) => tx.delivery.lockRepublishable(runs, runs.length), 'republished');
  }

  /**
   * Publishes one locked batch, then records it in the same transaction. A crash in between leaves the rows
   * unrecorded; the next pass publishes them again under the same message ids, which JetStream drops.
   */
  private async dispatchBatch(
    select: (tx: Transaction) => Promise<DispatchCandidate[]>,
    kind: PublicationKind,
  ): Promise<number> {
    return this.db.transaction(async (tx) => {
      const candidates = await select(tx);
      const records = await Promise.all(candidates.map((candidate) => this.publish(candidate)));
      await tx.delivery.markDispatched(records);
      const queuesByPool = new Map<string, Set<string>>();
      for (const { run, work_pool_id } of candidates) {
        queuesByPool.set(work_pool_id, (queuesByPool.get(work_pool_id) ?? new Set()).add(run.work_queue_id));
      }
      tx.afterCommit(() => {
        const publishedAt = Date.now();
        candidates.forEach(({ run }) => this.metrics.runPublished(this.dueAt(run, kind), publishedAt, kind));
        queuesByPool.forEach((queues, poolId) => this.signals.announceDispatched(poolId, [...queues]));
      });
      return candidates.length;
    });
  }

  /** When the run became due for the bus: its lease ran out, or the horizon reached its start (not before it existed). */
  private dueAt(run: DispatchCandidate['run'], kind: PublicationKind): Date | null {
    if (kind === 'expired') return run.leased_until;
    if (kind !== 'due' || run.next_scheduled_start_time === null) return null;
    const horizonStart = run.next_scheduled_start_time.getTime() - this.config.dispatch.horizonSeconds * 1000;
    return new Date(Math.max(horizonStart, run.created.getTime()));
  }

  private async publish({ run, work_pool_id }: DispatchCandidate): Promise<StoredPublication> {
    const publication = { runId: run.id, stateId: run.state_id, epoch: run.dispatch_epoch + 1 };
    const body = presentWorkerFlowRun(run, work_pool_id);
    const { seq } = await this.bus.publish(
      work_pool_id,
      run.work_queue_id,
      publication,
      body,
      run.next_scheduled_start_time,
    );
    return { publication, work_queue_id: run.work_queue_id, seq };
  }
}
