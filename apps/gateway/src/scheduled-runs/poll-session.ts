import { AppConfig } from '@app/config';
import {
  inTimeWindow,
  judgeOffer,
  pollLeaseMs,
  PollLeaseSettings,
  recordsPublication,
  RunPublication,
  SlotBudget,
  slotBudget,
  slotsLimited,
  TimeWindow,
} from '@app/domain';
import { FlowRunBus, PulledRun } from '@app/messaging';
import { Database, FlowRunEntity, PollPool, PollQueue, Transaction } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { GatewayMetrics } from '@gateway/metrics/gateway-metrics';
import { PollSideEffects } from './poll-side-effects.service';
import { PollTargets, ResolvedTarget } from './poll-targets.service';
import { PoolArrivals } from './pool-arrivals.service';
import { PoolLeases } from './pool-leases.service';

/** How often a long poll looks again even without an arrival notice (a lost notice costs at most this). */
const LONG_POLL_RECHECK_MS = 1000;
/**
 * How long past another poller's lease a held poll still waits for what that poller left: the dispatcher publishes
 * it again when the lease ends (it is told of every lease), and this covers that pass on a busy machine.
 */
const HANDOVER_GRACE_MS = 1000;
/**
 * Pulls per queue: a few rounds look past messages that turned out stale or outside a narrow window, without
 * looping on a busy bus. One poll sees at most this many × (its allowance + OVERPULL) messages of a queue.
 */
const MAX_PULL_ROUNDS = 3;
/** Messages pulled beyond the allowance, so that order by start time survives republication (see drainQueue). */
const OVERPULL = 16;

/** What a worker asks of one poll. */
export interface PollCommand {
  poolName: string;
  /** The queues polled, by name; none means all of the pool's. */
  queueNames: string[];
  window: TimeWindow;
  limit: number;
  /** > 0 holds an empty answer open until runs arrive or the wait ends (`Prefer: wait`). */
  waitSeconds: number;
  /** The polling worker's name (`X-Prefect-Worker-Name`, which stock workers send), if it gave one. */
  poller?: string | null;
}

/** The runs one poll leased, of the pool with this id. */
export interface PollResult {
  poolId: string;
  runs: FlowRunEntity[];
}

/** What becomes of a held message once the leases have committed. */
type Settlement = 'ack' | 'nak' | 'term';

/** Opens a {@link PollSession} per poll, with what sessions share. */
@Injectable()
export class PollSessions {
  constructor(
    readonly db: Database,
    readonly bus: FlowRunBus,
    readonly config: AppConfig,
    readonly targets: PollTargets,
    readonly arrivals: PoolArrivals,
    readonly leases: PoolLeases,
    readonly sideEffects: PollSideEffects,
    readonly metrics: GatewayMetrics,
  ) {}

  open(command: PollCommand): PollSession {
    return new PollSession(this, command);
  }
}

/**
 * One worker's poll. It hands out due runs queue by queue in priority order, each within its free slots and the
 * pool's, first from the queue's subject on the bus (without waiting when it is empty), then, for windows that
 * reach past the dispatch horizon, from Postgres. Every run is checked and leased in Postgres before it is
 * returned. The session owns every message it pulls: each look at the bus ends with all of them settled once the
 * leases have committed, or all of them given back if anything failed.
 */
export class PollSession {
  /** Pulled and not settled yet. */
  private readonly held = new Set<PulledRun>();
  /** Decided for held messages, applied in this order once the leases commit. */
  private settlements: [PulledRun, Settlement][] = [];
  /** Runs returned without a lease: this poller was offered them before and left them (see `offered_to`). */
  private readonly unleased = new Set<string>();
  /** When the lease this session recorded ends, once it has committed (announced to every gateway then). */
  private leasedUntil: Date | null = null;

  constructor(
    private readonly deps: PollSessions,
    private readonly command: PollCommand,
  ) {}

  async run(): Promise<PollResult> {
    const { poolName, queueNames, limit, waitSeconds } = this.command;
    let target = await this.deps.targets.resolve(poolName, queueNames);
    this.deps.sideEffects.record(
      target.pool,
      target.polled.map((queue) => queue.id),
    );
    let runs = await this.look(target);
    const deadline = Math.max(Date.now() + waitSeconds * 1000, this.handoverDeadline(target.pool.id));
    const waitStarted = Date.now();
    let waited = false;
    while (runs.runs.length === 0 && limit > 0 && Date.now() < deadline && !this.deps.arrivals.closing) {
      waited = true;
      await this.deps.arrivals.next(target.pool.id, Math.min(deadline - Date.now(), LONG_POLL_RECHECK_MS));
      // Pauses and queue changes made while waiting count: look the pool up again.
      target = await this.deps.targets.resolve(poolName, queueNames);
      runs = await this.look(target);
    }
    if (waited) this.deps.metrics.pollWaited((Date.now() - waitStarted) / 1000);
    return runs;
  }

  /**
   * Until when a named poller that found nothing waits for runs other pollers hold (epoch ms; 0: it does not). Under
   * Prefect, runs another worker got and left (its `--limit` was full, or it only looked) reach the next poll; here
   * they stay reserved for their holder until its lease ends, so a poll that came in between waits for that end
   * instead of returning empty and coming back a whole poll interval later. Nameless pollers (scripts, the CLI)
   * get their empty answer at once.
   */
  private handoverDeadline(poolId: string): number {
    const { poller, limit } = this.command;
    if (!poller || limit === 0) return 0;
    const heldUntil = this.deps.leases.heldByOthersUntil(poolId, poller);
    return heldUntil === null ? 0 : heldUntil + HANDOVER_GRACE_MS;
  }

  /**
   * One look for runs. The bus is read first, with the pool as cached: most polls find nothing there and end
   * without Postgres. What they pulled is then handed out on a fresh read of the pool.
   */
  private async look(cached: ResolvedTarget): Promise<PollResult> {
    try {
      const pulled = await this.pullAhead(cached);
      const nothingPulled = [...pulled.values()].every((messages) => messages.length === 0);
      if (nothingPulled && !this.reachesPastHorizon(new Date())) return { poolId: cached.pool.id, runs: [] };
      const target = cached.fresh
        ? cached
        : await this.deps.targets.resolve(this.command.poolName, this.command.queueNames, true);
      const runs = await this.lease(target, pulled);
      this.settle();
      if (this.leasedUntil) this.deps.leases.announce(target.pool.id, this.leasedUntil, this.command.poller ?? null);
      return { poolId: target.pool.id, runs };
    } catch (error) {
      this.giveBackHeld();
      throw error;
    }
  }

  /**
   * The first pull of each queue, in priority order, each as large as the poll could take from it (free slots are
   * only known inside the transaction; what they leave over goes back), until the poll's limit is covered. Of
   * several queues only those the stream holds messages for are pulled: one request tells which, so an idle poll
   * makes that one alone.
   */
  private async pullAhead(target: ResolvedTarget): Promise<Map<string, PulledRun[]>> {
    const { limit } = this.command;
    const { pool } = target;
    const pulls = new Map<string, PulledRun[]>();
    const queues = this.drainable(target);
    if (queues.length === 0) return pulls;
    // A lone queue's pull is that one request already, and costs nats-server less than the count (~70 µs against
    // ~110 µs measured).
    const stored = queues.length > 1 ? await this.deps.bus.storedPerQueue(pool.id) : null;
    let covered = 0;
    for (const queue of queues) {
      if (covered >= limit) break;
      const wanted = Math.min(limit - covered, queue.concurrency_limit ?? limit, pool.concurrency_limit ?? limit);
      if (wanted <= 0) continue;
      if (stored && !stored.get(queue.id)) {
        // Known empty: the transaction does not pull it either.
        pulls.set(queue.id, []);
        continue;
      }
      const pulled = await this.pull(pool.id, queue.id, wanted + OVERPULL);
      const messages = pulled.length < wanted + OVERPULL ? this.putBackOutsideWindow(pulled) : pulled;
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
  private putBackOutsideWindow(messages: PulledRun[]): PulledRun[] {
    return messages.filter((message) => {
      const outside = message.scheduledTime !== null && !inTimeWindow(message.scheduledTime, this.command.window);
      if (outside) this.giveBack(message);
      return !outside;
    });
  }

  /**
   * Leases runs in one transaction: `pulledAhead` were pulled with the pool as cached; `target` is a fresh read,
   * and what it no longer lets this poll take goes back.
   */
  private async lease(target: ResolvedTarget, pulledAhead: Map<string, PulledRun[]>): Promise<FlowRunEntity[]> {
    const { pool, poolQueues } = target;
    const queues = this.drainable(target);
    for (const [queueId, messages] of pulledAhead) {
      if (!queues.some((queue) => queue.id === queueId)) messages.forEach((message) => this.giveBack(message));
    }
    if (queues.length === 0) return [];
    // Where slots are limited every run handed out must count against them, so there is always a lease.
    const showLeftRuns = !slotsLimited(pool, queues);
    this.leasedUntil = null;
    return this.deps.db.transaction(async (tx) => {
      this.unleased.clear();
      const now = new Date();
      const budget = await this.freeSlots(tx, pool, poolQueues, queues, now);
      const taken: FlowRunEntity[] = [];
      for (const queue of queues) {
        const firstPull = pulledAhead.get(queue.id);
        const allowance = budget.exhausted ? 0 : budget.queueAllowance(queue);
        if (allowance === 0) {
          // Pulled ahead but no slot left for it: back on the bus for the next poll.
          firstPull?.forEach((message) => this.settleLater(message, 'nak'));
          continue;
        }
        const runs = await this.drainQueue(tx, pool, queue, allowance, now, firstPull, showLeftRuns);
        budget.take(runs.length);
        taken.push(...runs);
      }
      // Leased until now + DELIVERY_LEASE_SECONDS so far; the poll's lease is known once its size is.
      const leaseUntil = new Date(now.getTime() + pollLeaseMs(taken.length, this.leaseSettings()));
      const leased = taken.filter((run) => !this.unleased.has(run.id));
      await tx.delivery.setLeases(
        leased.map((run) => run.id),
        leaseUntil,
        this.command.poller ?? null,
      );
      leased.forEach((run) => (run.leased_until = leaseUntil));
      if (leased.length > 0) this.leasedUntil = leaseUntil;
      return taken;
    });
  }

  /**
   * The slots this poll may fill. Where slots are limited, polls of one pool take turns (until the transaction
   * ends) so that two cannot hand out the same free slot.
   */
  private async freeSlots(
    tx: Transaction,
    pool: PollPool,
    poolQueues: PollQueue[],
    queues: PollQueue[],
    now: Date,
  ): Promise<SlotBudget> {
    if (!slotsLimited(pool, queues)) return slotBudget(this.command.limit, pool, new Map());
    await tx.delivery.lockPoolSlots(pool.id);
    const active = poolQueues.filter((queue) => !queue.is_paused);
    return slotBudget(
      this.command.limit,
      pool,
      await tx.delivery.busySlots(
        active.map((queue) => queue.id),
        now,
      ),
    );
  }

  /** The polled queues this poll may take runs from, deduplicated, in priority order. */
  private drainable({ pool, polled }: ResolvedTarget): PollQueue[] {
    if (this.command.limit === 0 || pool.is_paused) return [];
    return polled
      .filter((queue, i) => !queue.is_paused && polled.findIndex((q) => q.id === queue.id) === i)
      .sort((a, b) => a.priority - b.priority);
  }

  /** `firstPull`, if any, was pulled ahead of the transaction for this queue (see pullAhead); other rounds pull here. */
  private async drainQueue(
    tx: Transaction,
    pool: PollPool,
    queue: PollQueue,
    allowance: number,
    now: Date,
    firstPull: PulledRun[] | undefined,
    showLeftRuns: boolean,
  ): Promise<FlowRunEntity[]> {
    const { window, poller } = this.command;
    const leaseUntil = new Date(now.getTime() + this.deps.config.dispatch.leaseSeconds * 1000);
    const leased: FlowRunEntity[] = [];
    for (let round = 0; round < MAX_PULL_ROUNDS && leased.length < allowance; round++) {
      const wanted = allowance - leased.length;
      // A few more than wanted, so an earlier run published after later ones (a lease that ran out) still
      // goes first; the surplus goes straight back.
      const messages = (round === 0 ? firstPull : undefined) ?? (await this.pull(pool.id, queue.id, wanted + OVERPULL));
      if (messages.length === 0) break;
      const { runs, queueActive } = await tx.delivery.lockOfferedRuns(
        messages.flatMap((m) => (m.publication ? [m.publication.runId] : [])),
        queue.id,
      );
      const rows = new Map(runs.map((run) => [run.id, run]));
      const deliverable: { message: PulledRun; run: FlowRunEntity; publication: RunPublication }[] = [];
      const forgotten: string[] = [];
      for (const message of messages) {
        const { publication } = message;
        const run = publication ? (rows.get(publication.runId) ?? null) : null;
        // A paused queue's messages stay valid for its resumption (pausing purges them anyway).
        const verdict = !publication
          ? 'stale'
          : queueActive
            ? judgeOffer(run, publication, queue.id, window, now)
            : 'elsewhere';
        const duplicate = deliverable.findIndex((offer) => offer.run.id === run?.id);
        if (verdict === 'deliver' && run && publication && duplicate === -1) {
          deliverable.push({ message, run, publication });
        } else if (verdict === 'deliver' && run && publication) {
          // Two publications of one run in one pull: hand out the newest, drop the other.
          const [older, newer] =
            deliverable[duplicate].publication.epoch < publication.epoch
              ? [deliverable[duplicate].message, message]
              : [message, deliverable[duplicate].message];
          deliverable[duplicate] = {
            ...deliverable[duplicate],
            message: newer,
            publication: newer.publication ?? publication,
          };
          this.settleLater(older, 'term');
        } else if (verdict === 'elsewhere') {
          this.settleLater(message, 'nak');
        } else {
          this.settleLater(message, 'term');
          // The row still counts this message as its publication (an in-process retry, say): forget it, so the
          // dispatcher publishes the run again once it is deliverable.
          if (run && publication && recordsPublication(run, publication, queue.id)) forgotten.push(run.id);
        }
      }
      await tx.delivery.forgetRunDispatches(forgotten);
      deliverable.sort((a, b) => startTime(a.run) - startTime(b.run));
      const taken = deliverable.slice(0, wanted);
      // A run this worker left before (its lease ran out unclaimed) is shown to it again as Prefect would, but
      // stays on the bus for the others: a worker whose --limit is full would otherwise hide it at every poll.
      const left = ({ run }: { run: FlowRunEntity }) => showLeftRuns && !!poller && !!run.offered_to?.includes(poller);
      const toLease = taken.filter((offer) => !left(offer));
      const recorded = await tx.delivery.recordLeases(
        queue.id,
        toLease.map(({ publication }) => publication),
        leaseUntil,
      );
      // Leased runs are acked once the lease commits; deliverable ones beyond the allowance go back at once.
      toLease.forEach(({ message }) => this.settleLater(message, 'ack'));
      for (const offer of taken.filter(left)) {
        this.settleLater(offer.message, 'nak');
        this.unleased.add(offer.run.id);
        leased.push(offer.run);
      }
      deliverable.slice(wanted).forEach(({ message }) => this.settleLater(message, 'nak'));
      leased.push(...recorded);
      // Another round only while the bus may hold runs this poll can take: the pull came back full and what it
      // held was stale or outside the window (a narrow window must not miss a run just behind those).
      if (messages.length < wanted + OVERPULL || !queueActive || deliverable.length > taken.length) break;
    }
    if (leased.length < allowance && this.reachesPastHorizon(now)) {
      const remaining = allowance - leased.length;
      leased.push(
        ...(await tx.delivery.leaseBeyondHorizon(queue.id, this.horizonEnd(now), window, remaining, leaseUntil, now)),
      );
    }
    leased.sort((a, b) => startTime(a) - startTime(b));
    return leased;
  }

  private leaseSettings(): PollLeaseSettings {
    const { claimWindowMs, claimWindowPerRunMs, leaseSeconds } = this.deps.config.dispatch;
    return { claimWindowMs, perRunMs: claimWindowPerRunMs, maxSeconds: leaseSeconds };
  }

  /** Whether the window reaches runs that are not on the bus yet (those past the dispatch horizon). */
  private reachesPastHorizon(now: Date): boolean {
    const { before } = this.command.window;
    return before === null || before > this.horizonEnd(now);
  }

  private horizonEnd(now: Date): Date {
    return new Date(now.getTime() + this.deps.config.dispatch.horizonSeconds * 1000);
  }

  /** Pulls without waiting; what comes back is this session's until settled or given back. */
  private async pull(poolId: string, queueId: string, batch: number): Promise<PulledRun[]> {
    const messages = await this.deps.bus.pullNow(poolId, queueId, batch);
    messages.forEach((message) => this.held.add(message));
    return messages;
  }

  private settleLater(message: PulledRun, settlement: Settlement): void {
    this.settlements.push([message, settlement]);
  }

  /** After the leases commit: applies what was decided, and gives back whatever nothing was decided for. */
  private settle(): void {
    for (const [message, settlement] of this.settlements) {
      this.deps.bus[settlement](message);
      this.held.delete(message);
    }
    this.giveBackHeld();
  }

  /** Back on the bus at once, for the next poll. */
  private giveBack(message: PulledRun): void {
    this.deps.bus.nak(message);
    this.held.delete(message);
  }

  /** Gives back every held message and forgets what was decided for them (the leases did not commit). */
  private giveBackHeld(): void {
    this.held.forEach((message) => this.deps.bus.nak(message));
    this.held.clear();
    this.settlements = [];
  }
}

function startTime(run: FlowRunEntity): number {
  return run.next_scheduled_start_time?.getTime() ?? 0;
}
