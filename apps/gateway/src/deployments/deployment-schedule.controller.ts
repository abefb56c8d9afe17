import { DeploymentScheduleCreateDto, DeploymentScheduleResponse, DeploymentScheduleUpdateDto } from '@app/contracts';
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { ArrayBodyPipe } from '@gateway/http/request-validation.pipe';
import { UuidPipe } from '@gateway/http/uuid.pipe';
import { DeploymentScheduleService } from './deployment-schedule.service';

@Controller('deployments/:id/schedules')
export class DeploymentScheduleController {
  constructor(private readonly schedules: DeploymentScheduleService) {}

  @Get()
  list(@Param('id', UuidPipe) id: string): Promise<DeploymentScheduleResponse[]> {
    return this.schedules.list(id);
  }

  @Post()
  @HttpCode(201)
  create(
    @Param('id', UuidPipe) id: string,
    @Body(new ArrayBodyPipe(DeploymentScheduleCreateDto)) schedules: DeploymentScheduleCreateDto[],
  ): Promise<DeploymentScheduleResponse[]> {
    return this.schedules.create(id, schedules);
  }

  @Patch(':schedule_id')
  @HttpCode(204)
  update(
    @Param('id', UuidPipe) id: string,
    @Param('schedule_id', UuidPipe) scheduleId: string,
    @Body() schedule: DeploymentScheduleUpdateDto,
  ): Promise<void> {
    return this.schedules.update(id, scheduleId, schedule);
  }

  @Delete(':schedule_id')
  @HttpCode(204)
  delete(@Param('id', UuidPipe) id: string, @Param('schedule_id', UuidPipe) scheduleId: string): Promise<void> {
    return this.schedules.delete(id, scheduleId);
  }
}
