import {
  DeploymentFlowRunCreateDto,
  deploymentFlowRunCreateFastPath,
  FlowRunBulkCreateResponse,
  FlowRunResponse,
} from '@app/contracts';
import { Body, Controller, HttpCode, Param, Post, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { ArrayBodyPipe } from '@gateway/http/request-validation.pipe';
import { UuidPipe } from '@gateway/http/uuid.pipe';
import { FlowRunService } from './flow-run.service';

@Controller('deployments')
export class DeploymentFlowRunController {
  constructor(private readonly flowRuns: FlowRunService) {}

  @Post(':id/create_flow_run')
  async create(
    @Param('id', UuidPipe) id: string,
    @Body() body: DeploymentFlowRunCreateDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<FlowRunResponse> {
    const { run, created } = await this.flowRuns.createFromDeployment(id, body);
    void reply.status(created ? 201 : 200);
    return run;
  }

  @Post(':id/create_flow_run/bulk')
  @HttpCode(200)
  createMany(
    @Param('id', UuidPipe) id: string,
    @Body(new ArrayBodyPipe(DeploymentFlowRunCreateDto, deploymentFlowRunCreateFastPath))
    body: DeploymentFlowRunCreateDto[],
  ): Promise<FlowRunBulkCreateResponse> {
    return this.flowRuns.createManyFromDeployment(id, body);
  }
}
