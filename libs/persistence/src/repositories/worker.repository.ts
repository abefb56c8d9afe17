import type { WorkerFilter } from '@app/contracts';
import type { WorkerStatus } from '@app/domain';
import { EntityManager } from 'typeorm';
import { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { WorkerEntity } from '../entities';
import { Criteria, QueryParameters } from '../filters/criteria';
import { EntityRepository } from './entity-repository';

/** Prefect's `WorkerFilter` over the worker row aliased `worker`. */
function workerFilterSql(filter: WorkerFilter, params: QueryParameters): string {
  const criteria = () => new Criteria(params);
  return criteria()
    .when(filter.last_heartbeat_time, (time) =>
      criteria()
        .atOrBefore('worker.last_heartbeat_time', time.before_)
        .atOrAfter('worker.last_heartbeat_time', time.after_)
        .sql(),
    )
    .when(filter.status, (status) =>
      criteria().anyOf('worker.status', status.any_).noneOf('worker.status', status.not_any_).sql(),
    )
    .sql(filter.operator);
}

export class WorkerRepository extends EntityRepository<WorkerEntity> {
  constructor(manager: EntityManager) {
    super(manager, WorkerEntity);
  }

  /**
   * Upserts the worker `(workPoolId, name)` with `status` and a heartbeat at the transaction's time. The
   * interval is written on insert, and on update only when given.
   */
  async recordHeartbeat(
    workPoolId: string,
    name: string,
    status: WorkerStatus,
    heartbeatIntervalSeconds?: number | null,
  ): Promise<void> {
    const withInterval = heartbeatIntervalSeconds !== undefined && heartbeatIntervalSeconds !== null;
    const values: QueryDeepPartialEntity<WorkerEntity> = {
      work_pool_id: workPoolId,
      name,
      status,
      last_heartbeat_time: () => 'now()',
      heartbeat_interval_seconds: heartbeatIntervalSeconds ?? null,
    };
    await this.repo
      .createQueryBuilder()
      .insert()
      .values(values)
      .orUpdate(
        ['last_heartbeat_time', 'status', ...(withInterval ? ['heartbeat_interval_seconds'] : [])],
        ['work_pool_id', 'name'],
      )
      .execute();
  }

  /** The pool's workers matching a `WorkerFilter`, most recent heartbeat first. */
  find(
    workPoolId: string,
    filter: WorkerFilter | null | undefined,
    offset: number,
    limit: number,
  ): Promise<WorkerEntity[]> {
    const params = new QueryParameters();
    const where = filter ? workerFilterSql(filter, params) : 'TRUE';
    return this.repo
      .createQueryBuilder('worker')
      .where('worker.work_pool_id = :workPoolId', { workPoolId })
      .andWhere(where, params.values)
      .orderBy('worker.last_heartbeat_time', 'DESC')
      .addOrderBy('worker.id', 'ASC')
      .offset(offset)
      .limit(limit)
      .getMany();
  }

  async existsWithStatus(workPoolId: string, status: WorkerStatus): Promise<boolean> {
    return this.repo.existsBy({ work_pool_id: workPoolId, status });
  }

  async deleteByName(workPoolId: string, name: string): Promise<boolean> {
    const result = await this.repo.delete({ work_pool_id: workPoolId, name });
    return (result.affected ?? 0) > 0;
  }
}
