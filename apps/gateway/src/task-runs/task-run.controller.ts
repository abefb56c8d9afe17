import {
  OrchestrationResult,
  SetTaskRunStateDto,
  TaskRunCreateDto,
  TaskRunFilterRequestDto,
  TaskRunResponse,
} from '@app/contracts';
import { Body, Controller, Get, HttpCode, Param, Post, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { OrchestrationClient, RequestClient } from '@gateway/flow-runs/orchestration-client.decorator';
import { UuidPipe } from '@gateway/http/uuid.pipe';
import { TaskRunService } from './task-run.service';

@Controller('task_runs')
export class TaskRunController {
  constructor(private readonly tasks: TaskRunService) {}

  /** 201 for a new task run, 200 for the existing one with the same flow run, task key and dynamic key. */
  @Post()
  async create(
    @RequestClient() client: OrchestrationClient,
    @Body() body: TaskRunCreateDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<TaskRunResponse> {
    const { task, created } = await this.tasks.create(body, client);
    void reply.status(created ? 201 : 200);
    return task;
  }

  @Post('filter')
  @HttpCode(200)
  filter(@Body() body: TaskRunFilterRequestDto): Promise<TaskRunResponse[]> {
    return this.tasks.filter(body);
  }

  @Get(':id')
  read(@Param('id', UuidPipe) id: string): Promise<TaskRunResponse> {
    return this.tasks.read(id);
  }

  /** 201 when a new state was written, 200 otherwise. */
  @Post(':id/set_state')
  async setState(
    @RequestClient() client: OrchestrationClient,
    @Param('id', UuidPipe) id: string,
    @Body() body: SetTaskRunStateDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<OrchestrationResult> {
    const { result, created } = await this.tasks.setState(id, body, client);
    void reply.status(created ? 201 : 200);
    return result;
  }
}
