import type { SlotHolderRow } from '@app/domain';
import type { WorkQueueFilter } from '@app/contracts';
import { EntityManager } from 'typeorm';
import { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { FlowRunEntity, WorkPoolEntity, WorkQueueEntity } from '../entities';
import { QueryParameters } from '../filters/criteria';
import { workQueueFilterSql } from '../filters/work-queue.filter';
import { EntityRepository } from './entity-repository';

export class WorkQueueRepository extends EntityRepository<WorkQueueEntity> {
  constructor(manager: EntityManager) {
    super(manager, WorkQueueEntity);
  }

  findInPool(workPoolId: string, name: string): Promise<WorkQueueEntity | null> {
    return this.repo.findOneBy({ work_pool_id: workPoolId, name });
  }

  /** The first queue of that name in any pool (Prefect's lookup of a queue named without a pool). */
  findAnyNamed(name: string): Promise<WorkQueueEntity | null> {
    return this.repo.findOneBy({ name });
  }

  /** The queue `name` of the pool named `workPoolName`, in one lookup. */
  findByNames(workPoolName: string, name: string): Promise<WorkQueueEntity | null> {
    return this.repo
      .createQueryBuilder('queue')
      .innerJoin(WorkPoolEntity, 'pool', 'pool.id = queue.work_pool_id')
      .where('pool.name = :workPoolName AND queue.name = :name', { workPoolName, name })
      .getOne();
  }

  /** Every queue of the pool with its priority. */
  async priorities(workPoolId: string): Promise<{ id: string; priority: number }[]> {
    return this.repo.find({ select: { id: true, priority: true }, where: { work_pool_id: workPoolId } });
  }

  /** Writes the given columns (JSON ones included) of one queue; resolves to whether it exists. */
  updateFields(id: string, values: Partial<WorkQueueEntity>): Promise<boolean> {
    return this.updateById(id, values as QueryDeepPartialEntity<WorkQueueEntity>);
  }

  async setPriorities(priorities: ReadonlyMap<string, number>): Promise<void> {
    for (const [id, priority] of priorities) await this.updateById(id, { priority });
  }

  /** The pool's queues matching a `WorkQueueFilter`, by priority. */
  find(
    workPoolId: string,
    filter: WorkQueueFilter | null | undefined,
    offset: number,
    limit: number,
  ): Promise<WorkQueueEntity[]> {
    const params = new QueryParameters();
    const where = filter ? workQueueFilterSql(filter, 'queue', params) : 'TRUE';
    return this.repo
      .createQueryBuilder('queue')
      .where('queue.work_pool_id = :workPoolId', { workPoolId })
      .andWhere(where, params.values)
      .orderBy('queue.priority', 'ASC')
      .addOrderBy('queue.name', 'ASC')
      .offset(offset)
      .limit(limit)
      .getMany();
  }

  /** Per queue, the flow runs whose state type is one of `stateTypes`; queues with none are absent. */
  async countRunsInStates(queueIds: readonly string[], stateTypes: readonly string[]): Promise<Map<string, number>> {
    if (queueIds.length === 0) return new Map();
    const rows = await this.manager
      .createQueryBuilder()
      .select('run.work_queue_id', 'queue_id')
      .addSelect('COUNT(*)::int', 'runs')
      .from(FlowRunEntity, 'run')
      .where('run.work_queue_id = ANY(:queueIds)', { queueIds })
      .andWhere('run.state_type = ANY(:stateTypes)', { stateTypes })
      .groupBy('run.work_queue_id')
      .getRawMany<{ queue_id: string; runs: number }>();
    return new Map(rows.map((row) => [row.queue_id, row.runs]));
  }

  /**
   * The runs of these queues whose state type is one of `stateTypes`, by id: at most `perQueue` of each queue when
   * given, then the page `offset`/`limit` of those (null for none).
   */
  slotHolders(
    queueIds: readonly string[],
    stateTypes: readonly string[],
    page: { perQueue: number | null; offset: number; limit: number | null },
  ): Promise<SlotHolderRow[]> {
    if (queueIds.length === 0) return Promise.resolve([]);
    return this.manager.query(
      `SELECT id, name, work_queue_id, state_type, state_name, start_time, state_timestamp FROM (
         SELECT id, name, work_queue_id, state_type, state_name, start_time, state_timestamp,
                row_number() OVER (PARTITION BY work_queue_id ORDER BY id) AS n
           FROM flow_run WHERE work_queue_id = ANY($1) AND state_type = ANY($2)) holder
        WHERE $3::int IS NULL OR n <= $3
        ORDER BY id OFFSET $4 LIMIT $5`,
      [queueIds, stateTypes, page.perQueue, page.offset, page.limit],
    );
  }

  /** Runs of the queue named `Late` (the legacy health view counts them). */
  async countLateRuns(workQueueId: string): Promise<number> {
    const [{ count }]: { count: number }[] = await this.manager.query(
      `SELECT count(*)::int AS count FROM flow_run WHERE work_queue_id = $1 AND state_type = 'SCHEDULED' AND state_name = 'Late'`,
      [workQueueId],
    );
    return count;
  }
}
