import { FlowCountRequestDto, FlowCreateDto, FlowFilterRequestDto, FlowResponse, FlowUpdateDto } from '@app/contracts';
import { Body, Controller, Delete, Get, HttpCode, Param, Patch, Post, Res } from '@nestjs/common';
import type { FastifyReply } from 'fastify';
import { UuidPipe } from '@gateway/http/uuid.pipe';
import { FlowService } from './flow.service';

@Controller('flows')
export class FlowController {
  constructor(private readonly flows: FlowService) {}

  @Post()
  async create(@Body() body: FlowCreateDto, @Res({ passthrough: true }) reply: FastifyReply): Promise<FlowResponse> {
    const { flow, created } = await this.flows.create(body);
    void reply.status(created ? 201 : 200);
    return flow;
  }

  @Post('filter')
  @HttpCode(200)
  filter(@Body() body: FlowFilterRequestDto): Promise<FlowResponse[]> {
    return this.flows.filter(body);
  }

  @Post('count')
  @HttpCode(200)
  count(@Body() body: FlowCountRequestDto): Promise<number> {
    return this.flows.count(body);
  }

  @Get('name/:name')
  readByName(@Param('name') name: string): Promise<FlowResponse> {
    return this.flows.readByName(name);
  }

  @Get(':id')
  read(@Param('id', UuidPipe) id: string): Promise<FlowResponse> {
    return this.flows.read(id);
  }

  @Patch(':id')
  @HttpCode(204)
  update(@Param('id', UuidPipe) id: string, @Body() body: FlowUpdateDto): Promise<void> {
    return this.flows.update(id, body);
  }

  @Delete(':id')
  @HttpCode(204)
  delete(@Param('id', UuidPipe) id: string): Promise<void> {
    return this.flows.delete(id);
  }
}
