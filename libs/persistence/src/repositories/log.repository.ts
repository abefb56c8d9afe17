import type { LogFilterRequestDto } from '@app/contracts';
import { DeepPartial, EntityManager } from 'typeorm';
import { LogEntity } from '../entities';
import { QueryParameters } from '../filters/criteria';
import { logFilterSql, logOrder } from '../filters/log.filter';
import { applyOrder } from '../filters/order';
import { EntityRepository } from './entity-repository';

const LOG = 'log';
/** Rows per INSERT: six parameters each stays far below Postgres's 65,535 bind parameters per statement. */
const INSERT_CHUNK = 1000;

export class LogRepository extends EntityRepository<LogEntity> {
  constructor(manager: EntityManager) {
    super(manager, LogEntity);
  }

  /** Stores log lines, a chunk of rows per statement (atomic only inside a transaction). */
  async insertMany(rows: DeepPartial<LogEntity>[]): Promise<void> {
    for (let start = 0; start < rows.length; start += INSERT_CHUNK) {
      await this.repo
        .createQueryBuilder()
        .insert()
        .values(rows.slice(start, start + INSERT_CHUNK))
        .execute();
    }
  }

  /** Deletes every log line of the flow run, its task runs' included (they carry the flow run's id). */
  async deleteForFlowRun(flowRunId: string): Promise<void> {
    await this.repo.delete({ flow_run_id: flowRunId });
  }

  filter(body: LogFilterRequestDto, limit: number): Promise<LogEntity[]> {
    const params = new QueryParameters();
    const where = body.logs ? logFilterSql(body.logs, LOG, params) : 'TRUE';
    const query = this.repo.createQueryBuilder(LOG).where(where, params.values);
    return applyOrder(query, logOrder(body.sort, LOG)).offset(body.offset).limit(limit).getMany();
  }
}
