import { LogCreateDto, LogFilterRequestDto, LogResponse } from '@app/contracts';
import { Body, Controller, HttpCode, Post } from '@nestjs/common';
import { ArrayBodyPipe } from '@gateway/http/request-validation.pipe';
import { LogService } from './log.service';

@Controller('logs')
export class LogController {
  constructor(private readonly logs: LogService) {}

  /** Prefect answers 201 with a JSON `null` body. */
  @Post()
  @HttpCode(201)
  create(@Body(new ArrayBodyPipe(LogCreateDto)) body: LogCreateDto[]): Promise<null> {
    return this.logs.create(body);
  }

  @Post('filter')
  @HttpCode(200)
  filter(@Body() body: LogFilterRequestDto): Promise<LogResponse[]> {
    return this.logs.filter(body);
  }
}
