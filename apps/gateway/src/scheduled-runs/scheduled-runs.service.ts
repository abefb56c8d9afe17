import { AppConfig } from '@app/config';
import { FlowRunResponse, GetScheduledFlowRunsDto, WorkerFlowRunResponse, WorkQueueGetRunsDto } from '@app/contracts';
import {
  freeSlots,
  objectNotFound,
  presentFlowRunResponse,
  presentWorkerFlowRun,
  resolveLimit,
  SLOT_OCCUPYING_STATE_TYPES,
} from '@app/domain';
import { Database, FlowRunEntity, WorkQueueEntity } from '@app/persistence';
import { Injectable } from '@nestjs/common';
import { GatewayMetrics } from '@gateway/metrics/gateway-metrics';
import { PollSessions } from './poll-session';

/** pydantic's lax booleans that read as true (Prefect reads the `X-Prefect-UI` header so). */
const LAX_TRUE = /^(true|1|yes|on|t|y)$/i;

/** The polls Prefect serves, `POST /work_pools/{name}/get_scheduled_flow_runs` and `/work_queues/{id}/get_runs`, from the bus. */
@Injectable()
export class ScheduledRunsService {
  constructor(
    private readonly sessions: PollSessions,
    private readonly config: AppConfig,
    private readonly db: Database,
    private readonly metrics: GatewayMetrics,
  ) {}

  /**
   * `waitSeconds` > 0 holds an empty answer open until runs arrive or the wait ends (`Prefer: wait`); `poller` is
   * the worker's name, when it sends one.
   */
  async getScheduledFlowRuns(
    poolName: string,
    body: GetScheduledFlowRunsDto,
    waitSeconds = 0,
    poller: string | null = null,
  ): Promise<WorkerFlowRunResponse[]> {
    const session = this.sessions.open({
      poolName,
      queueNames: body.work_queue_names ?? [],
      window: { after: body.scheduled_after ?? null, before: body.scheduled_before ?? null },
      limit: resolveLimit(body.limit, this.config.api.defaultLimit),
      waitSeconds,
      poller,
    });
    const { poolId, runs } = await this.metrics.poll(() => session.run());
    return runs.map((run) => presentWorkerFlowRun(run as FlowRunEntity & { work_queue_id: string }, poolId));
  }

  /**
   * `POST /work_queues/{id}/get_runs` (`prefect work-queue read-runs`): the queue's due runs, handed out exactly as
   * a poll of its pool naming this queue hands them out (leased, so no other poller gets them within the lease), and
   * recorded as a poll of the queue. Prefect's UI (`X-Prefect-UI: true`) only looks (see `look`).
   */
  async getWorkQueueRuns(
    id: string,
    body: WorkQueueGetRunsDto,
    prefectUi: string | undefined,
  ): Promise<FlowRunResponse[]> {
    const limit = resolveLimit(body.limit, this.config.api.defaultLimit);
    const queue = await this.db.repos.workQueues.findById(id);
    const pool = queue && (await this.db.repos.workPools.findById(queue.work_pool_id));
    if (!queue || !pool) throw objectNotFound(`Work queue with id ${id} not found.`);
    const before = body.scheduled_before ?? null;
    const ids = LAX_TRUE.test(prefectUi?.trim() ?? '')
      ? await this.look(queue, before, limit)
      : (
          await this.sessions
            .open({
              poolName: pool.name,
              queueNames: [queue.name],
              window: { after: null, before },
              limit,
              waitSeconds: 0,
            })
            .run()
        ).runs.map((run) => run.id);
    const detailed = await this.db.repos.flowRuns.findDetailedByIds(ids);
    const now = new Date();
    return detailed.map((run) => presentFlowRunResponse(run, now));
  }

  /**
   * What Prefect's UI sees of a queue: its scheduled runs within its free slots, none if it is paused. Only looking,
   * it neither leases them (workers still get them at once) nor counts as a poll.
   */
  private async look(queue: WorkQueueEntity, before: Date | null, limit: number): Promise<string[]> {
    if (queue.is_paused) return [];
    const held = await this.db.repos.workQueues.countRunsInStates([queue.id], SLOT_OCCUPYING_STATE_TYPES);
    const allowance = Math.min(limit, freeSlots(queue.concurrency_limit, held.get(queue.id) ?? 0));
    return allowance > 0 ? this.db.repos.flowRuns.scheduledInQueue(queue.id, before, allowance) : [];
  }
}
