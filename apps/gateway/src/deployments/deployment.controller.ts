import {
  DeploymentCountRequestDto,
  DeploymentCreateDto,
  DeploymentFilterRequestDto,
  DeploymentResponse,
  DeploymentUpdateDto,
} from '@app/contracts';
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { UuidPipe } from '@gateway/http/uuid.pipe';
import { DeploymentService } from './deployment.service';

/** Prefect answers `null` (FastAPI's rendering of a handler returning None) with a 200. */
function sendNull(reply: FastifyReply): void {
  void reply.status(200).header('content-type', 'application/json').send('null');
}

@Controller('deployments')
export class DeploymentController {
  constructor(private readonly deployments: DeploymentService) {}

  @Post()
  async create(
    @Body() body: DeploymentCreateDto,
    @Res({ passthrough: true }) reply: FastifyReply,
  ): Promise<DeploymentResponse> {
    const { deployment, created } = await this.deployments.create(body);
    void reply.status(created ? 201 : 200);
    return deployment;
  }

  @Post('filter')
  @HttpCode(200)
  filter(@Body() body: DeploymentFilterRequestDto): Promise<DeploymentResponse[]> {
    return this.deployments.filter(body);
  }

  @Post('count')
  @HttpCode(200)
  count(@Body() body: DeploymentCountRequestDto): Promise<number> {
    return this.deployments.count(body);
  }

  @Get('name/:flow_name/:deployment_name')
  readByName(
    @Param('flow_name') flowName: string,
    @Param('deployment_name') name: string,
  ): Promise<DeploymentResponse> {
    return this.deployments.readByName(flowName, name);
  }

  @Get(':id')
  read(@Param('id', UuidPipe) id: string): Promise<DeploymentResponse> {
    return this.deployments.read(id);
  }

  @Patch(':id')
  @HttpCode(204)
  update(@Param('id', UuidPipe) id: string, @Body() body: DeploymentUpdateDto): Promise<void> {
    return this.deployments.update(id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  delete(@Param('id', UuidPipe) id: string): Promise<void> {
    return this.deployments.delete(id);
  }

  @Post(':id/pause_deployment')
  async pause(@Param('id', UuidPipe) id: string, @Res() reply: FastifyReply): Promise<void> {
    await this.deployments.pause(id);
    sendNull(reply);
  }

  @Post(':id/resume_deployment')
  async resume(@Param('id', UuidPipe) id: string, @Res() reply: FastifyReply): Promise<void> {
    await this.deployments.resume(id);
    sendNull(reply);
  }
}
