import {
  WorkPoolConcurrencyStatus,
  WorkPoolConcurrencyStatusRequestDto,
  WorkPoolCountRequestDto,
  WorkPoolCreateDto,
  WorkPoolFilterRequestDto,
  WorkPoolResponse,
  WorkPoolUpdateDto,
} from '@app/contracts';
import { Body, Controller, Delete, Get, Headers, HttpCode, Param, Patch, Post } from '@nestjs/common';
import { WorkPoolService } from './work-pool.service';

@Controller('work_pools')
export class WorkPoolController {
  constructor(private readonly pools: WorkPoolService) {}

  @Post()
  @HttpCode(201)
  create(@Body() body: WorkPoolCreateDto, @Headers('user-agent') userAgent?: string): Promise<WorkPoolResponse> {
    return this.pools.create(body, userAgent);
  }

  @Post('filter')
  @HttpCode(200)
  filter(
    @Body() body: WorkPoolFilterRequestDto,
    @Headers('user-agent') userAgent?: string,
  ): Promise<WorkPoolResponse[]> {
    return this.pools.filter(body, userAgent);
  }

  @Post('count')
  @HttpCode(200)
  count(@Body() body: WorkPoolCountRequestDto): Promise<number> {
    return this.pools.count(body);
  }

  @Get(':name')
  read(@Param('name') name: string, @Headers('user-agent') userAgent?: string): Promise<WorkPoolResponse> {
    return this.pools.read(name, userAgent);
  }

  @Patch(':name')
  @HttpCode(204)
  update(@Param('name') name: string, @Body() body: WorkPoolUpdateDto): Promise<void> {
    return this.pools.update(name, body);
  }

  @Delete(':name')
  @HttpCode(204)
  delete(@Param('name') name: string): Promise<void> {
    return this.pools.delete(name);
  }

  @Post(':name/concurrency_status')
  @HttpCode(200)
  concurrencyStatus(
    @Param('name') name: string,
    @Body() body: WorkPoolConcurrencyStatusRequestDto,
  ): Promise<WorkPoolConcurrencyStatus> {
    return this.pools.concurrencyStatus(name, body);
  }
}
