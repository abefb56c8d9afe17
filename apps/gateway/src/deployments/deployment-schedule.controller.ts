import { DeploymentScheduleCreateDto, DeploymentScheduleResponse, DeploymentScheduleUpdateDto } from '@app/contracts';
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ArrayBodyPipe } from '../http/request-validation.pipe';
import { DeploymentScheduleService } from './deployment-schedule.service';
import { RouteUuidPipe } from './route-uuid.pipe';

@Controller('deployments/:id/schedules')
export class DeploymentScheduleController {
  constructor(private readonly schedules: DeploymentScheduleService) {}

  @Get()
  list(@Param('id', RouteUuidPipe) id: string): Promise<DeploymentScheduleResponse[]> {
    return this.schedules.list(id);
  }

  @Post()
  @HttpCode(201)
  create(
    @Param('id', RouteUuidPipe) id: string,
    @Body(new ArrayBodyPipe(DeploymentScheduleCreateDto)) schedules: DeploymentScheduleCreateDto[],
  ): Promise<DeploymentScheduleResponse[]> {
    return this.schedules.create(id, schedules);
  }

  @Patch(':schedule_id')
  @HttpCode(204)
  update(
    @Param('id', RouteUuidPipe) id: string,
    @Param('schedule_id', RouteUuidPipe) scheduleId: string,
    @Body() schedule: DeploymentScheduleUpdateDto,
  ): Promise<void> {
    return this.schedules.update(id, scheduleId, schedule);
  }

  @Delete(':schedule_id')
  @HttpCode(204)
  delete(@Param('id', RouteUuidPipe) id: string, @Param('schedule_id', RouteUuidPipe) scheduleId: string): Promise<void> {
    return this.schedules.delete(id, scheduleId);
  }
}
