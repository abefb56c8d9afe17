import { GetScheduledFlowRunsDto, WorkerFlowRunResponse } from '@app/contracts';
import { preferredWaitSeconds } from '@app/domain';
import { Body, Controller, Headers, HttpCode, Param, Post } from '@nestjs/common';
import { ScheduledRunsService } from './scheduled-runs.service';

@Controller('work_pools')
export class ScheduledRunsController {
  constructor(private readonly scheduledRuns: ScheduledRunsService) {}

  /**
   * Load scheduled runs for a worker. An optional `Prefer: wait=<seconds>` turns an empty answer into a long poll;
   * `X-Prefect-Worker-Name` (sent by stock workers) names the poller, so that what it left is not hidden again.
   */
  @Post(':name/get_scheduled_flow_runs')
  @HttpCode(200)
  getScheduledFlowRuns(
    @Param('name') name: string,
    @Body() body: GetScheduledFlowRunsDto,
    @Headers('prefer') prefer: string | undefined,
    @Headers('x-prefect-worker-name') poller: string | undefined,
  ): Promise<WorkerFlowRunResponse[]> {
    return this.scheduledRuns.getScheduledFlowRuns(name, body, preferredWaitSeconds(prefer), poller || null);
  }
}
