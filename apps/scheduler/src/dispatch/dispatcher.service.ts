import { AppConfig } from '@app/config';
import { presentWorkerFlowRun } from '@app/domain';
import { DispatchSignals, FlowRunBus, NatsClient } from '@app/messaging';
import { Database, DispatchCandidate, DispatchRecord, Transaction } from '@app/persistence';
import { Injectable, Logger, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';

const BATCH_SIZE = 200;
const RETRY_AFTER_ERROR_MS = 1000;

/**
 * Puts due flow runs on the bus: every SCHEDULED run whose start time is within the dispatch horizon and that
 * is not yet published in its current state and queue, and every run whose delivery lease ran out unclaimed.
 * Wakes on change notices from the gateway and at the next due time it knows of, not on a slow timer.
 */
@Injectable()
export class DispatcherService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(DispatcherService.name);
  private running = false;
  private loop?: Promise<void>;
  private wakeUp?: () => void;
  private wakeRequested = false;

  constructor(
    private readonly db: Database,
    private readonly bus: FlowRunBus,
    private readonly signals: DispatchSignals,
    private readonly config: AppConfig,
    private readonly nats: NatsClient,
  ) {}

  onApplicationBootstrap(): void {
    this.running = true;
    this.signals.onDispatchRequested(() => this.wake());
    this.nats.onReconnect(() => void this.recoverLostStreams());
    this.loop = this.recoverLostStreams().then(() => this.run());
  }

  /**
   * A NATS server that restarted without its store has lost the messages of runs recorded as published. Such a
   * pool's stream is gone: forget those publications so this dispatcher publishes the runs again.
   */
  async recoverLostStreams(): Promise<void> {
    try {
      for (const poolId of await this.db.repos.delivery.poolsWithPublishedRuns()) {
        if (await this.bus.hasPoolStream(poolId)) continue;
        this.logger.warn(`the stream of pool ${poolId} is gone; publishing its runs again`);
        const queues = await this.db.repos.delivery.queuesOfPool(poolId);
        await this.db.repos.delivery.forgetDispatches(queues.map((queue) => queue.id));
      }
      this.wake();
    } catch (error) {
      this.logger.error(`checking streams after a (re)connect failed: ${String(error)}`);
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.running = false;
    this.wake();
    await this.loop;
  }

  wake(): void {
    this.wakeRequested = true;
    this.wakeUp?.();
  }

  private async run(): Promise<void> {
    while (this.running) {
      this.wakeRequested = false;
      let nextPassAt: number;
      try {
        nextPassAt = await this.dispatchDue();
      } catch (error) {
        this.logger.error(`dispatch pass failed: ${String(error)}`);
        nextPassAt = Date.now() + RETRY_AFTER_ERROR_MS;
      }
      await this.sleepUntil(nextPassAt);
    }
  }

  private sleepUntil(at: number): Promise<void> {
    if (this.wakeRequested || !this.running) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.wakeUp?.(), Math.max(0, at - Date.now()));
      this.wakeUp = () => {
        clearTimeout(timer);
        this.wakeUp = undefined;
        resolve();
      };
    });
  }

  /** One pass: publish everything due now; resolves to when the next pass is due (epoch ms). */
  async dispatchDue(): Promise<number> {
    const now = new Date();
    const horizonMs = this.config.DISPATCH_HORIZON_SECONDS * 1000;
    const horizonEnd = new Date(now.getTime() + horizonMs);
    while ((await this.dispatchBatch((tx) => tx.delivery.lockUndispatched(horizonEnd, now, BATCH_SIZE))) === BATCH_SIZE);
    while ((await this.dispatchBatch((tx) => tx.delivery.lockExpiredLeases(horizonEnd, now, BATCH_SIZE))) === BATCH_SIZE);
    const [nextRun, nextLeaseExpiry] = await Promise.all([
      this.db.repos.delivery.nextUndispatchedAfter(horizonEnd),
      this.db.repos.delivery.nextLeaseExpiry(now),
    ]);
    return Math.min(
      now.getTime() + this.config.DISPATCH_INTERVAL_MS,
      nextRun ? nextRun.getTime() - horizonMs : Number.POSITIVE_INFINITY,
      nextLeaseExpiry ? nextLeaseExpiry.getTime() + 1 : Number.POSITIVE_INFINITY,
    );
  }

  /**
   * Publishes one locked batch, then records it in the same transaction. A crash in between leaves the rows
   * unrecorded; the next pass publishes them again under the same message ids, which JetStream drops.
   */
  private async dispatchBatch(select: (tx: Transaction) => Promise<DispatchCandidate[]>): Promise<number> {
    return this.db.transaction(async (tx) => {
      const candidates = await select(tx);
      const records = await Promise.all(candidates.map((candidate) => this.publish(candidate)));
      await tx.delivery.markDispatched(records);
      const queuesByPool = new Map<string, Set<string>>();
      for (const { run, work_pool_id } of candidates) {
        queuesByPool.set(work_pool_id, (queuesByPool.get(work_pool_id) ?? new Set()).add(run.work_queue_id));
      }
      tx.afterCommit(() => queuesByPool.forEach((queues, poolId) => this.signals.announceDispatched(poolId, [...queues])));
      return candidates.length;
    });
  }

  private async publish({ run, work_pool_id }: DispatchCandidate): Promise<DispatchRecord> {
    const epoch = run.dispatch_epoch + 1;
    const body = JSON.stringify(presentWorkerFlowRun(run, work_pool_id));
    await this.bus.publish(work_pool_id, run.work_queue_id, { runId: run.id, stateId: run.state_id, epoch }, body, run.next_scheduled_start_time);
    return { id: run.id, state_id: run.state_id, work_queue_id: run.work_queue_id, epoch };
  }
}
