import { AppConfig } from '@app/config';
import { WorkerFlowRunResponse } from '@app/contracts';
import { inTimeWindow, judgeOffer, presentWorkerFlowRun, recordsPublication, RunPublication, slotBudget, slotsLimited, TimeWindow } from '@app/domain';
import { FlowRunBus, PulledRun } from '@app/messaging';
import { Database, FlowRunEntity, PollPool, PollQueue, Transaction } from '@app/persistence';
import { Injectable } from '@nestjs/common';

/**
 * Pulls per queue: a few rounds look past messages that turned out stale or outside a narrow window, without
 * looping on a busy bus. One poll sees at most this many × (its allowance + OVERPULL) messages of a queue.
 */
const MAX_PULL_ROUNDS = 3;
/** Messages pulled beyond the allowance, so that order by start time survives republication (see drainQueue). */
const OVERPULL = 16;

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

  /**
   * Hands out runs: `pulledAhead` are the first pulls of {@link pullAhead}, made with the pool as cached; `pool`
   * and its queues here are a fresh read, and what they no longer let this poll take goes back.
   */
  async drain(
    pool: PollPool,
    poolQueues: PollQueue[],
    polled: PollQueue[],
    window: TimeWindow,
    limit: number,
    pulledAhead: Map<string, PulledRun[]>,
  ): Promise<WorkerFlowRunResponse[]> {
    const queues = this.drainable(pool, polled, limit);
    // Everything this poll holds from the bus: given back if the leases do not commit.
    const pulled: PulledRun[] = [];
    for (const [queueId, messages] of pulledAhead) {
      if (queues.some((queue) => queue.id === queueId)) pulled.push(...messages);
      else messages.forEach((message) => this.bus.nak(message));
    }
    if (queues.length === 0) return [];
    try {
      const limited = slotsLimited(pool, queues);
      const { runs, settle } = await this.db.transaction(async (tx) => {
        const now = new Date();
        // Where slots are limited, polls of one pool take turns so two cannot hand out the same free slot.
        if (limited) await tx.delivery.lockPoolSlots(pool.id);
        const active = poolQueues.filter((queue) => !queue.is_paused);
        const busy = limited ? await tx.delivery.busySlots(active.map((queue) => queue.id), now) : new Map<string, number>();
        const budget = slotBudget(limit, pool, busy);
        const taken: FlowRunEntity[] = [];
        const settlements: (() => void)[] = [];
        for (const queue of queues) {
          const firstPull = pulledAhead.get(queue.id);
          const allowance = budget.exhausted ? 0 : budget.queueAllowance(queue);
          if (allowance === 0) {
            // Pulled ahead but no slot left for it: back on the bus for the next poll.
            firstPull?.forEach((message) => settlements.push(() => this.bus.nak(message)));
            continue;
          }
          const drained = await this.drainQueue(tx, pool, queue, allowance, window, now, firstPull);
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

  /** The polled queues a poll may take runs from, deduplicated, in priority order. */
  private drainable(pool: PollPool, polled: PollQueue[], limit: number): PollQueue[] {
    if (limit === 0 || pool.is_paused) return [];
    return polled.filter((queue, i) => !queue.is_paused && polled.findIndex((q) => q.id === queue.id) === i).sort((a, b) => a.priority - b.priority);
  }

  /**
   * The first pull of each queue, in priority order, each as large as the poll could take from it (free slots are
   * only known inside the transaction; what they leave over goes back), until the poll's limit is covered.
   */
  async pullAhead(pool: PollPool, polled: PollQueue[], limit: number, window: TimeWindow): Promise<Map<string, PulledRun[]>> {
    const pulls = new Map<string, PulledRun[]>();
    let covered = 0;
    for (const queue of this.drainable(pool, polled, limit)) {
      if (covered >= limit) break;
      const wanted = Math.min(limit - covered, queue.concurrency_limit ?? limit, pool.concurrency_limit ?? limit);
      if (wanted <= 0) continue;
      const pulled = await this.bus.pullNow(pool.id, queue.id, wanted + OVERPULL);
      const messages = pulled.length < wanted + OVERPULL ? this.putBackOutsideWindow(pulled, window) : pulled;
      pulls.set(queue.id, messages);
      covered += Math.min(messages.length, wanted);
    }
    return pulls;
  }

  /**
   * Gives back at once the runs whose publication says they start outside the window (the stock worker's poll
   * pulls each run once while it is due beyond its 10 s prefetch but within the dispatch horizon), so that such a
   * poll ends without Postgres. Only for a pull that emptied the subject: after a full one, drainQueue looks past
   * these to the runs behind them.
   */
  private putBackOutsideWindow(messages: PulledRun[], window: TimeWindow): PulledRun[] {
    return messages.filter((message) => {
      const outside = message.scheduledTime !== null && !inTimeWindow(message.scheduledTime, window);
      if (outside) this.bus.nak(message);
      return !outside;
    });
  }

  /** Whether the window reaches runs that are not on the bus yet (those past the dispatch horizon). */
  reachesPastHorizon(window: TimeWindow, now: Date): boolean {
    return window.before === null || window.before > this.horizonEnd(now);
  }

  private horizonEnd(now: Date): Date {
    return new Date(now.getTime() + this.config.DISPATCH_HORIZON_SECONDS * 1000);
  }

  /** `firstPull`, if any, was pulled ahead of the transaction for this queue (see pullAhead); other rounds pull here. */
  private async drainQueue(
    tx: Transaction,
    pool: PollPool,
    queue: PollQueue,
    allowance: number,
    window: TimeWindow,
    now: Date,
    firstPull: PulledRun[] | undefined,
  ): Promise<QueueDrain> {
    const leaseUntil = new Date(now.getTime() + this.config.DELIVERY_LEASE_SECONDS * 1000);
    const drained: QueueDrain = { runs: [], settle: [], pulled: [] };
    for (let round = 0; round < MAX_PULL_ROUNDS && drained.runs.length < allowance; round++) {
      const wanted = allowance - drained.runs.length;
      // A few more than wanted, so an earlier run published after later ones (a lease that ran out) still
      // goes first; the surplus goes straight back.
      const pulledAhead = round === 0 ? firstPull : undefined;
      const messages = pulledAhead ?? (await this.bus.pullNow(pool.id, queue.id, wanted + OVERPULL));
      if (!pulledAhead) drained.pulled.push(...messages);
      if (messages.length === 0) break;
      const { runs, queueActive } = await tx.delivery.lockOfferedRuns(messages.flatMap((m) => (m.publication ? [m.publication.runId] : [])), queue.id);
      const rows = new Map(runs.map((run) => [run.id, run]));
      const deliverable: { message: PulledRun; run: FlowRunEntity; publication: RunPublication }[] = [];
      const forgotten: string[] = [];
      for (const message of messages) {
        const { publication } = message;
        const run = publication ? (rows.get(publication.runId) ?? null) : null;
        // A paused queue's messages stay valid for its resumption (pausing purges them anyway).
        const verdict = !publication ? 'stale' : queueActive ? judgeOffer(run, publication, queue.id, window, now) : 'elsewhere';
        const duplicate = deliverable.findIndex((offer) => offer.run.id === run?.id);
        if (verdict === 'deliver' && run && publication && duplicate === -1) {
          deliverable.push({ message, run, publication });
        } else if (verdict === 'deliver' && run && publication) {
          // Two publications of one run in one pull: hand out the newest, drop the other.
          const [older, newer] = deliverable[duplicate].publication.epoch < publication.epoch ? [deliverable[duplicate].message, message] : [message, deliverable[duplicate].message];
          deliverable[duplicate] = { ...deliverable[duplicate], message: newer, publication: newer.publication ?? publication };
          drained.settle.push(() => this.bus.term(older));
        } else if (verdict === 'elsewhere') {
          drained.settle.push(() => this.bus.nak(message));
        } else {
          drained.settle.push(() => this.bus.term(message));
          // The row still counts this message as its publication (an in-process retry, say): forget it, so the
          // dispatcher publishes the run again once it is deliverable.
          if (run && publication && recordsPublication(run, publication, queue.id)) forgotten.push(run.id);
        }
      }
      await tx.delivery.forgetRunDispatches(forgotten);
      deliverable.sort((a, b) => startTime(a.run) - startTime(b.run));
      const taken = deliverable.slice(0, wanted);
      const leased = await tx.delivery.recordLeases(
        queue.id,
        taken.map(({ publication }) => publication),
        leaseUntil,
      );
      // Leased runs are acked once the lease commits; deliverable ones beyond the allowance go back at once.
      taken.forEach(({ message }) => drained.settle.push(() => this.bus.ack(message)));
      deliverable.slice(wanted).forEach(({ message }) => drained.settle.push(() => this.bus.nak(message)));
      drained.runs.push(...leased);
      // Another round only while the bus may hold runs this poll can take: the pull came back full and what it
      // held was stale or outside the window (a narrow window must not miss a run just behind those).
      if (messages.length < wanted + OVERPULL || !queueActive || deliverable.length > taken.length) break;
    }
    if (drained.runs.length < allowance && this.reachesPastHorizon(window, now)) {
      const remaining = allowance - drained.runs.length;
      drained.runs.push(...(await tx.delivery.leaseBeyondHorizon(queue.id, this.horizonEnd(now), window, remaining, leaseUntil, now)));
    }
    drained.runs.sort((a, b) => startTime(a) - startTime(b));
    return drained;
  }
}

function startTime(run: FlowRunEntity): number {
  return run.next_scheduled_start_time?.getTime() ?? 0;
}
