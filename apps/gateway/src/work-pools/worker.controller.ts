import { WorkerFilterRequestDto, WorkerHeartbeatDto, WorkerResponse } from '@app/contracts';
import { Body, Controller, Delete, Get, HttpCode, Param, Post } from '@nestjs/common';
import { WorkerService } from './worker.service';

@Controller('work_pools/:work_pool_name/workers')
export class WorkerController {
  constructor(private readonly workers: WorkerService) {}

  @Post('heartbeat')
  @HttpCode(204)
  heartbeat(@Param('work_pool_name') workPoolName: string, @Body() body: WorkerHeartbeatDto): Promise<void> {
    return this.workers.heartbeat(workPoolName, body);
  }

  @Post('filter')
  @HttpCode(200)
  filter(
    @Param('work_pool_name') workPoolName: string,
    @Body() body: WorkerFilterRequestDto,
  ): Promise<WorkerResponse[]> {
    return this.workers.filter(workPoolName, body);
  }

  /** The websocket worker channel (`GET` + `Upgrade: websocket`). */
  @Get('connect')
  connect(): never {
    return this.workers.connectChannel();
  }

  @Delete(':name')
  @HttpCode(204)
  delete(@Param('work_pool_name') workPoolName: string, @Param('name') name: string): Promise<void> {
    return this.workers.delete(workPoolName, name);
  }
}
