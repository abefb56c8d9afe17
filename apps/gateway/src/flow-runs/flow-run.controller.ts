import {
  FlowRunCountRequestDto,
  FlowRunCreateDto,
  FlowRunFilterRequestDto,
  FlowRunResponse,
  FlowRunUpdateDto,
  OrchestrationResult,
  SetFlowRunStateDto,
} from '@app/contracts';
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { UuidPipe } from '@gateway/http/uuid.pipe';
import { FlowRunStateService } from './flow-run-state.service';
import { FlowRunService } from './flow-run.service';
import { OrchestrationClient, RequestClient } from './orchestration-client.decorator';

@Controller('flow_runs')
export class FlowRunController {
  constructor(
    private readonly flowRuns: FlowRunService,
    private readonly states: FlowRunStateService,
  ) {}

  @Post()
  async create(
    @RequestClient() client: OrchestrationClient,
    @Body() body: FlowRunCreateDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<FlowRunResponse> {
    const { run, created } = await this.flowRuns.create(body, client);
    void reply.status(created ? 201 : 200);
    return run;
  }

  @Post('filter')
  @HttpCode(200)
  filter(@Body() body: FlowRunFilterRequestDto): Promise<FlowRunResponse[]> {
    return this.flowRuns.filter(body);
  }

  @Post('count')
  @HttpCode(200)
  count(@Body() body: FlowRunCountRequestDto): Promise<number> {
    return this.flowRuns.count(body);
  }

  @Get(':id')
  read(@Param('id', UuidPipe) id: string): Promise<FlowRunResponse> {
    return this.flowRuns.read(id);
  }

  @Patch(':id')
  @HttpCode(204)
  update(@Param('id', UuidPipe) id: string, @Body() body: FlowRunUpdateDto): Promise<void> {
    return this.flowRuns.update(id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  delete(@Param('id', UuidPipe) id: string): Promise<void> {
    return this.flowRuns.delete(id);
  }

  @Patch(':id/labels')
  @HttpCode(204)
  updateLabels(@Param('id', UuidPipe) id: string, @Body() labels: Record<string, unknown>): Promise<void> {
    return this.flowRuns.updateLabels(id, labels);
  }

  /** 201 when a new state was written, 200 when the run kept its state (ABORT, WAIT, a REJECT without a new state). */
  @Post(':id/set_state')
  async setState(
    @RequestClient() client: OrchestrationClient,
    @Param('id', UuidPipe) id: string,
    @Body() body: SetFlowRunStateDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<OrchestrationResult> {
    const { result, created } = await this.states.setState(id, body, client);
    void reply.status(created ? 201 : 200);
    return result;
  }
}
