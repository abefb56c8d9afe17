import { AppConfig } from '@app/config';
import { GetScheduledFlowRunsDto, WorkerFlowRunResponse } from '@app/contracts';
import { notFound, resolveLimit } from '@app/domain';
import { Database, PollPool, PollQueue, TimeWindow } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { PollSideEffects } from './poll-side-effects.service';
import { PoolArrivals } from './pool-arrivals.service';
import { RunDrainer } from './run-drainer.service';

/** How often a long poll looks again even without an arrival notice (a lost notice costs at most this). */
const LONG_POLL_RECHECK_MS = 1000;

/** `POST /work_pools/{name}/get_scheduled_flow_runs`, Prefect's contract served from the bus. */
@Injectable()
export class ScheduledRunsService {
  constructor(
    private readonly db: Database,
    private readonly drainer: RunDrainer,
    private readonly sideEffects: PollSideEffects,
    private readonly arrivals: PoolArrivals,
    private readonly config: AppConfig,
  ) {}

  /** `waitSeconds` > 0 holds an empty answer open until runs arrive or the wait ends (`Prefer: wait`). */
  async getScheduledFlowRuns(poolName: string, body: GetScheduledFlowRunsDto, waitSeconds = 0): Promise<WorkerFlowRunResponse[]> {
    const limit = resolveLimit(body.limit, this.config.DEFAULT_LIMIT);
    const window: TimeWindow = { after: body.scheduled_after ?? null, before: body.scheduled_before ?? null };
    const deadline = Date.now() + waitSeconds * 1000;
    let { pool, poolQueues, polled } = await this.resolve(poolName, body.work_queue_names ?? []);
    this.sideEffects.record(pool, polled.map((queue) => queue.id));
    let runs = await this.drainer.drain(pool, poolQueues, polled, window, limit);
    while (runs.length === 0 && limit > 0 && Date.now() < deadline && !this.arrivals.closing) {
      await this.arrivals.next(pool.id, Math.min(deadline - Date.now(), LONG_POLL_RECHECK_MS));
      // Pauses and queue changes made while waiting count: look the pool up again.
      ({ pool, poolQueues, polled } = await this.resolve(poolName, body.work_queue_names ?? []));
      runs = await this.drainer.drain(pool, poolQueues, polled, window, limit);
    }
    return runs;
  }

  /** The pool and the queues the poll names (all of them when it names none), with Prefect's 404s. */
  private async resolve(poolName: string, queueNames: string[]): Promise<{ pool: PollPool; poolQueues: PollQueue[]; polled: PollQueue[] }> {
    const target = await this.db.repos.delivery.pollTarget(poolName);
    if (!target) throw notFound(`Work pool "${poolName}" not found.`);
    const { pool, queues: poolQueues } = target;
    const polled = queueNames.map((name) => {
      const queue = poolQueues.find((candidate) => candidate.name === name);
      if (!queue) throw notFound(`Work pool queue '${poolName}/${name}' not found.`);
      return queue;
    });
    return { pool, poolQueues, polled: queueNames.length > 0 ? polled : poolQueues };
  }
}
