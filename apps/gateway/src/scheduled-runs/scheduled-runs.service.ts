import { AppConfig } from '@app/config';
import { GetScheduledFlowRunsDto, WorkerFlowRunResponse } from '@app/contracts';
import { resolveLimit } from '@app/domain';
import { Injectable } from '@nestjs/common';
import { GatewayMetrics } from '../metrics/gateway-metrics';
import { PollSessions } from './poll-session';

/** `POST /work_pools/{name}/get_scheduled_flow_runs`, Prefect's contract served from the bus. */
@Injectable()
export class ScheduledRunsService {
  constructor(
    private readonly sessions: PollSessions,
    private readonly config: AppConfig,
    private readonly metrics: GatewayMetrics,
  ) {}

  /** `waitSeconds` > 0 holds an empty answer open until runs arrive or the wait ends (`Prefer: wait`). */
  getScheduledFlowRuns(
    poolName: string,
    body: GetScheduledFlowRunsDto,
    waitSeconds = 0,
  ): Promise<WorkerFlowRunResponse[]> {
    const session = this.sessions.open({
      poolName,
      queueNames: body.work_queue_names ?? [],
      window: { after: body.scheduled_after ?? null, before: body.scheduled_before ?? null },
      limit: resolveLimit(body.limit, this.config.api.defaultLimit),
      waitSeconds,
    });
    return this.metrics.poll(() => session.run());
  }
}
