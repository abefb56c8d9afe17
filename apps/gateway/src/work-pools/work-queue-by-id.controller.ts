import {
  WorkQueueConcurrencyStatus,
  WorkQueueConcurrencyStatusRequestDto,
  WorkQueueResponse,
  WorkQueueStatusDetail,
  WorkQueueUpdateDto,
} from '@app/contracts';
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { UuidPipe } from '@gateway/http/uuid.pipe';
import { WorkQueueService } from './work-queue.service';

/** Prefect's queue-by-id routes, which the `prefect work-queue` CLI still uses. */
@Controller('work_queues')
export class WorkQueueByIdController {
  constructor(private readonly queues: WorkQueueService) {}

  @Get(':id')
  read(@Param('id', UuidPipe) id: string): Promise<WorkQueueResponse> {
    return this.queues.readById(id);
  }

  @Patch(':id')
  @HttpCode(204)
  update(@Param('id', UuidPipe) id: string, @Body() body: WorkQueueUpdateDto): Promise<void> {
    return this.queues.updateById(id, body);
  }

  @Get(':id/status')
  status(@Param('id', UuidPipe) id: string): Promise<WorkQueueStatusDetail> {
    return this.queues.statusById(id);
  }

  @Delete(':id')
  @HttpCode(204)
  delete(@Param('id', UuidPipe) id: string): Promise<void> {
    return this.queues.deleteById(id);
  }

  @Post(':id/concurrency_status')
  @HttpCode(200)
  concurrencyStatus(
    @Param('id', UuidPipe) id: string,
    @Body() body: WorkQueueConcurrencyStatusRequestDto,
  ): Promise<WorkQueueConcurrencyStatus> {
    return this.queues.concurrencyStatusById(id, body);
  }
}
