import { AppConfig } from '@app/config';
import { WorkerFlowRunResponse } from '@app/contracts';
import { freeSlots, presentWorkerFlowRun, SlotBudget } from '@app/domain';
import { FlowRunBus, PulledRun } from '@app/messaging';
import { Database, FlowRunEntity, TimeWindow, Transaction, WorkPoolEntity, WorkQueueEntity } from '@app/persistence';
import { Injectable } from '@nestjs/common';

/** Pulls per queue: a few rounds replace messages that turned out stale without looping on a busy bus. */
const MAX_PULL_ROUNDS = 3;

interface QueueDrain {
  runs: FlowRunEntity[];
  /** Settle these only after the leases are committed. */
  settle: (() => void)[];
  /** Give these back at once if the leases do not commit. */
  pulled: PulledRun[];
}

/**
 * Hands out due runs for one poll: queue by queue in priority order, each within its free slots and the pool's,
 * first from the queue's subject on the bus (without waiting when it is empty), then, for windows that reach past
 * the dispatch horizon, from Postgres. Every run is checked and leased in Postgres before it is returned; a bus
 * message is acked only after that lease has committed.
 */
@Injectable()
export class RunDrainer {
  constructor(
    private readonly db: Database,
    private readonly bus: FlowRunBus,
    private readonly config: AppConfig,
  ) {}

  async drain(pool: WorkPoolEntity, poolQueues: WorkQueueEntity[], polled: WorkQueueEntity[], window: TimeWindow, limit: number): Promise<WorkerFlowRunResponse[]> {
    const queues = polled.filter((queue, i) => !queue.is_paused && polled.findIndex((q) => q.id === queue.id) === i);
    if (limit === 0 || pool.is_paused || queues.length === 0) return [];
    queues.sort((a, b) => a.priority - b.priority);
    const limited = pool.concurrency_limit !== null || queues.some((queue) => queue.concurrency_limit !== null);
    const pulled: PulledRun[] = [];
    try {
      const { runs, settle } = await this.db.transaction(async (tx) => {
        const now = new Date();
        // Where slots are limited, polls of one pool take turns so two cannot hand out the same free slot.
        if (limited) await tx.delivery.lockPoolSlots(pool.id);
        const active = poolQueues.filter((queue) => !queue.is_paused);
        const busy = limited ? await tx.delivery.busySlots(active.map((queue) => queue.id), now) : new Map<string, number>();
        const poolBusy = active.reduce((sum, queue) => sum + (busy.get(queue.id) ?? 0), 0);
        const budget = new SlotBudget(limit, freeSlots(pool.concurrency_limit, poolBusy));
        const taken: FlowRunEntity[] = [];
        const settlements: (() => void)[] = [];
        for (const queue of queues) {
          if (budget.exhausted) break;
          const allowance = budget.allowance(freeSlots(queue.concurrency_limit, busy.get(queue.id) ?? 0));
          if (allowance === 0) continue;
          const drained = await this.drainQueue(tx, pool, queue, allowance, window, now);
          pulled.push(...drained.pulled);
          settlements.push(...drained.settle);
          budget.take(drained.runs.length);
          taken.push(...drained.runs);
        }
        return { runs: taken, settle: settlements };
      });
      settle.forEach((action) => action());
      return runs.map((run) => presentWorkerFlowRun(run as FlowRunEntity & { work_queue_id: string }, pool.id));
    } catch (error) {
      pulled.forEach((message) => this.bus.nak(message));
      throw error;
    }
  }

  private async drainQueue(tx: Transaction, pool: WorkPoolEntity, queue: WorkQueueEntity, allowance: number, window: TimeWindow, now: Date): Promise<QueueDrain> {
    const leaseUntil = new Date(now.getTime() + this.config.DELIVERY_LEASE_SECONDS * 1000);
    const drained: QueueDrain = { runs: [], settle: [], pulled: [] };
    for (let round = 0; round < MAX_PULL_ROUNDS && drained.runs.length < allowance; round++) {
      const wanted = allowance - drained.runs.length;
      const messages = await this.bus.pullNow(pool.id, queue.id, wanted);
      drained.pulled.push(...messages);
      const offers: (PulledRun & { key: NonNullable<PulledRun['key']> })[] = [];
      let leftForOthers = false;
      for (const message of messages) {
        if (!message.key) {
          drained.settle.push(() => this.bus.term(message));
        } else if (!inWindow(scheduledTimeOf(message), window)) {
          // Outside this poller's window: back on the bus at once for pollers whose window it fits.
          drained.settle.push(() => this.bus.nak(message));
          leftForOthers = true;
        } else {
          offers.push(message as (typeof offers)[number]);
        }
      }
      const leased = await tx.delivery.leaseOffered(
        queue.id,
        offers.map((offer) => ({ id: offer.key.runId, state_id: offer.key.stateId, epoch: offer.key.epoch })),
        window,
        leaseUntil,
        now,
      );
      const leasedIds = new Set(leased.map((run) => run.id));
      // A message whose run did not lease is stale: the run changed, moved, was deleted or is held by another.
      for (const offer of offers) drained.settle.push(leasedIds.has(offer.key.runId) ? () => this.bus.ack(offer) : () => this.bus.term(offer));
      drained.runs.push(...leased);
      if (messages.length < wanted || leftForOthers) break;
    }
    const horizonEnd = new Date(now.getTime() + this.config.DISPATCH_HORIZON_SECONDS * 1000);
    if (drained.runs.length < allowance && (window.before === null || window.before > horizonEnd)) {
      drained.runs.push(...(await tx.delivery.leaseBeyondHorizon(queue.id, horizonEnd, window, allowance - drained.runs.length, leaseUntil, now)));
    }
    return drained;
  }
}

function scheduledTimeOf(message: PulledRun): Date | null {
  try {
    const body = JSON.parse(Buffer.from(message.body).toString()) as WorkerFlowRunResponse;
    return body.flow_run.next_scheduled_start_time ? new Date(body.flow_run.next_scheduled_start_time) : null;
  } catch {
    return null;
  }
}

function inWindow(time: Date | null, window: TimeWindow): boolean {
  if (time === null) return window.after === null && window.before === null;
  return (window.after === null || time >= window.after) && (window.before === null || time <= window.before);
}
