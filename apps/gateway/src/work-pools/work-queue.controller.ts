import { WorkQueueCreateDto, WorkQueueFilterRequestDto, WorkQueueResponse, WorkQueueUpdateDto } from '@app/contracts';
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { WorkQueueService } from './work-queue.service';

@Controller('work_pools/:work_pool_name/queues')
export class WorkQueueController {
  constructor(private readonly queues: WorkQueueService) {}

  @Post()
  @HttpCode(201)
  create(@Param('work_pool_name') workPoolName: string, @Body() body: WorkQueueCreateDto): Promise<WorkQueueResponse> {
    return this.queues.create(workPoolName, body);
  }

  @Post('filter')
  @HttpCode(200)
  filter(
    @Param('work_pool_name') workPoolName: string,
    @Body() body: WorkQueueFilterRequestDto,
  ): Promise<WorkQueueResponse[]> {
    return this.queues.filter(workPoolName, body);
  }

  @Get(':name')
  read(@Param('work_pool_name') workPoolName: string, @Param('name') name: string): Promise<WorkQueueResponse> {
    return this.queues.read(workPoolName, name);
  }

  @Patch(':name')
  @HttpCode(204)
  update(
    @Param('work_pool_name') workPoolName: string,
    @Param('name') name: string,
    @Body() body: WorkQueueUpdateDto,
  ): Promise<void> {
    return this.queues.update(workPoolName, name, body);
  }

  @Delete(':name')
  @HttpCode(204)
  delete(@Param('work_pool_name') workPoolName: string, @Param('name') name: string): Promise<void> {
    return this.queues.delete(workPoolName, name);
  }
}
