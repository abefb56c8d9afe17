import { AppConfig } from '@app/config';
import { LogCreateDto, LogFilterRequestDto, LogResponse } from '@app/contracts';
import { presentLog, resolveLimit } from '@app/domain';
import { Database } from '@app/persistence';
import { Injectable } from '@nestjs/common';

@Injectable()
export class LogService {
  constructor(
    private readonly db: Database,
    private readonly config: AppConfig,
  ) {}

  /** Stores every line of the batch, or none. The run ids are not checked: Prefect keeps logs of any run id. */
  async create(logs: LogCreateDto[]): Promise<null> {
    const rows = logs.map((log) => ({
      name: log.name,
      level: log.level,
      message: log.message,
      timestamp: log.timestamp,
      flow_run_id: log.flow_run_id ?? null,
      task_run_id: log.task_run_id ?? null,
    }));
    await this.db.transaction((tx) => tx.logs.insertMany(rows));
    return null;
  }

  async filter(body: LogFilterRequestDto): Promise<LogResponse[]> {
    const logs = await this.db.repos.logs.filter(body, resolveLimit(body.limit, this.config.api.defaultLimit));
    return logs.map(presentLog);
  }
}
