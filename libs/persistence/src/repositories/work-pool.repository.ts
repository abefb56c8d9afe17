import type { WorkPoolFilter } from '@app/contracts';
import type { WorkPoolStatus } from '@app/domain';
import { EntityManager } from 'typeorm';
import { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { FlowRunEntity, WorkPoolEntity, WorkQueueEntity } from '../entities';
import { QueryParameters } from '../filters/criteria';
import { workPoolFilterSql } from '../filters/work-pool.filter';
import { EntityRepository } from './entity-repository';

export class WorkPoolRepository extends EntityRepository<WorkPoolEntity> {
  constructor(manager: EntityManager) {
    super(manager, WorkPoolEntity);
  }

  findByName(name: string): Promise<WorkPoolEntity | null> {
    return this.repo.findOneBy({ name });
  }

  /** Reads the pool and locks it until the transaction ends: serialises changes to the pool and its queues. */
  findByNameForUpdate(name: string): Promise<WorkPoolEntity | null> {
    return this.repo
      .createQueryBuilder('pool')
      .setLock('pessimistic_write')
      .where('pool.name = :name', { name })
      .getOne();
  }

  /** Pools matching a `WorkPoolFilter`, by name. */
  find(filter: WorkPoolFilter | null | undefined, offset: number, limit: number): Promise<WorkPoolEntity[]> {
    return this.filtered(filter).orderBy('pool.name', 'ASC').offset(offset).limit(limit).getMany();
  }

  count(filter: WorkPoolFilter | null | undefined): Promise<number> {
    return this.filtered(filter).getCount();
  }

  /** Per pool, the flow runs in its queues whose state type is one of `stateTypes`; pools with none are absent. */
  async countRunsInStates(poolIds: readonly string[], stateTypes: readonly string[]): Promise<Map<string, number>> {
    if (poolIds.length === 0) return new Map();
    const rows = await this.manager
      .createQueryBuilder()
      .select('queue.work_pool_id', 'pool_id')
      .addSelect('COUNT(*)::int', 'runs')
      .from(FlowRunEntity, 'run')
      .innerJoin(WorkQueueEntity, 'queue', 'queue.id = run.work_queue_id')
      .where('queue.work_pool_id = ANY(:poolIds)', { poolIds })
      .andWhere('run.state_type = ANY(:stateTypes)', { stateTypes })
      .groupBy('queue.work_pool_id')
      .getRawMany<{ pool_id: string; runs: number }>();
    return new Map(rows.map((row) => [row.pool_id, row.runs]));
  }

  /** Writes the given columns (JSON ones included) of one pool; resolves to whether it exists. */
  updateFields(id: string, values: Partial<WorkPoolEntity>): Promise<boolean> {
    return this.updateById(id, values as QueryDeepPartialEntity<WorkPoolEntity>);
  }

  /** Writes `values` only while the pool is still in status `from`; resolves to whether it was. */
  async updateIfStatus(id: string, from: WorkPoolStatus, values: Partial<WorkPoolEntity>): Promise<boolean> {
    const result = await this.repo
      .createQueryBuilder()
      .update()
      .set(values as QueryDeepPartialEntity<WorkPoolEntity>)
      .where('id = :id AND status = :from', { id, from })
      .execute();
    return (result.affected ?? 0) > 0;
  }

  private filtered(filter: WorkPoolFilter | null | undefined) {
    const params = new QueryParameters();
    const where = filter ? workPoolFilterSql(filter, 'pool', params) : 'TRUE';
    return this.repo.createQueryBuilder('pool').where(where, params.values);
  }
}
