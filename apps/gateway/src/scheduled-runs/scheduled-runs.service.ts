import { AppConfig } from '@app/config';
import { GetScheduledFlowRunsDto, WorkerFlowRunResponse } from '@app/contracts';
import { notFound, resolveLimit, TimeWindow } from '@app/domain';
import { FlowRunBus } from '@app/messaging';
import { PollPool, PollQueue } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { PollSideEffects } from './poll-side-effects.service';
import { PollTargets, ResolvedTarget } from './poll-targets.service';
import { PoolArrivals } from './pool-arrivals.service';
import { RunDrainer } from './run-drainer.service';

/** How often a long poll looks again even without an arrival notice (a lost notice costs at most this). */
const LONG_POLL_RECHECK_MS = 1000;

/** `POST /work_pools/{name}/get_scheduled_flow_runs`, Prefect's contract served from the bus. */
@Injectable()
export class ScheduledRunsService {
  constructor(
    private readonly targets: PollTargets,
    private readonly bus: FlowRunBus,
    private readonly drainer: RunDrainer,
    private readonly sideEffects: PollSideEffects,
    private readonly arrivals: PoolArrivals,
    private readonly config: AppConfig,
  ) {}

  /** `waitSeconds` > 0 holds an empty answer open until runs arrive or the wait ends (`Prefer: wait`). */
  async getScheduledFlowRuns(poolName: string, body: GetScheduledFlowRunsDto, waitSeconds = 0): Promise<WorkerFlowRunResponse[]> {
    const limit = resolveLimit(body.limit, this.config.DEFAULT_LIMIT);
    const window: TimeWindow = { after: body.scheduled_after ?? null, before: body.scheduled_before ?? null };
    const queueNames = body.work_queue_names ?? [];
    const deadline = Date.now() + waitSeconds * 1000;
    let target = await this.resolve(poolName, queueNames);
    this.sideEffects.record(target.pool, target.polled.map((queue) => queue.id));
    let runs = await this.drain(poolName, queueNames, target, window, limit);
    while (runs.length === 0 && limit > 0 && Date.now() < deadline && !this.arrivals.closing) {
      await this.arrivals.next(target.pool.id, Math.min(deadline - Date.now(), LONG_POLL_RECHECK_MS));
      // Pauses and queue changes made while waiting count: look the pool up again.
      target = await this.resolve(poolName, queueNames);
      runs = await this.drain(poolName, queueNames, target, window, limit);
    }
    return runs;
  }

  /**
   * The bus is read first, with the pool as cached: most polls find nothing there and end without Postgres. What
   * they pulled is then handed out on a fresh read of the pool.
   */
  private async drain(poolName: string, queueNames: string[], target: Target, window: TimeWindow, limit: number): Promise<WorkerFlowRunResponse[]> {
    const pulled = await this.drainer.pullAhead(target.pool, target.polled, limit, window);
    const nothingPulled = [...pulled.values()].every((messages) => messages.length === 0);
    if (nothingPulled && !this.drainer.reachesPastHorizon(window, new Date())) return [];
    let current = target;
    try {
      if (!target.fresh) current = await this.resolve(poolName, queueNames, true);
    } catch (error) {
      pulled.forEach((messages) => messages.forEach((message) => this.bus.nak(message)));
      throw error;
    }
    return this.drainer.drain(current.pool, current.poolQueues, current.polled, window, limit, pulled);
  }

  /**
   * The pool and the queues the poll names (all of them when it names none), with Prefect's 404s. A cached read
   * that would refuse the poll (a pool or queue missing or paused) is made again, fresh.
   */
  private async resolve(poolName: string, queueNames: string[], fresh = false): Promise<Target> {
    const found = await this.targets.get(poolName, { fresh });
    const target = found && select(found, queueNames);
    if (found && !found.fresh && (!target || target.pool.is_paused || target.polled.some((queue) => queue.is_paused))) {
      return this.resolve(poolName, queueNames, true);
    }
    if (!found) throw notFound(`Work pool "${poolName}" not found.`);
    if (!target) throw notFound(`Work pool queue '${poolName}/${queueNames.find((name) => !found.queues.some((queue) => queue.name === name))}' not found.`);
    return target;
  }
}

interface Target {
  pool: PollPool;
  poolQueues: PollQueue[];
  polled: PollQueue[];
  fresh: boolean;
}

/** The queues a poll names, in the order it names them (all of the pool's when it names none); null if one is missing. */
function select(found: ResolvedTarget, queueNames: string[]): Target | null {
  const polled: PollQueue[] = [];
  for (const name of queueNames) {
    const queue = found.queues.find((candidate) => candidate.name === name);
    if (!queue) return null;
    polled.push(queue);
  }
  return { pool: found.pool, poolQueues: found.queues, polled: queueNames.length > 0 ? polled : found.queues, fresh: found.fresh };
}
