import { FlowRunResponse, WorkQueueGetRunsDto } from '@app/contracts';
import { Body, Controller, Headers, HttpCode, Param, Post } from '@nestjs/common';
import { UuidPipe } from '@gateway/http/uuid.pipe';
import { ScheduledRunsService } from './scheduled-runs.service';

@Controller('work_queues')
export class WorkQueueRunsController {
  constructor(private readonly scheduledRuns: ScheduledRunsService) {}

  @Post(':id/get_runs')
  @HttpCode(200)
  getRuns(
    @Param('id', UuidPipe) id: string,
    @Body() body: WorkQueueGetRunsDto,
    @Headers('x-prefect-ui') prefectUi: string | undefined,
  ): Promise<FlowRunResponse[]> {
    return this.scheduledRuns.getWorkQueueRuns(id, body, prefectUi);
  }
}
