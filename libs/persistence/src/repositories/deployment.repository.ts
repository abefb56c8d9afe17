import { EntityManager, FindOptionsRelations, FindOptionsOrder, In } from 'typeorm';
import { QueryDeepPartialEntity } from 'typeorm/query-builder/QueryPartialEntity';
import { DeploymentEntity, FlowRunEntity } from '../entities';
import { EntityRepository } from './entity-repository';

/** What a deployment's response shows besides its own columns: its queue, the queue's pool, its schedules. */
const DETAILS: FindOptionsRelations<DeploymentEntity> = { work_queue: { work_pool: true }, schedules: true };
// Prefect lists a deployment's schedules most recently updated first.
const DETAILS_ORDER: FindOptionsOrder<DeploymentEntity> = { schedules: { updated: 'DESC' } };

export interface ScheduledRunsToDelete {
  /** Only runs the scheduler created (`auto_scheduled`). */
  autoScheduledOnly: boolean;
  /** Only runs due after now. */
  futureOnly: boolean;
}

export class DeploymentRepository extends EntityRepository<DeploymentEntity> {
  constructor(manager: EntityManager) {
    super(manager, DeploymentEntity);
  }

  /** The deployment with its queue, the queue's pool and its schedules loaded. */
  findDetailed(id: string): Promise<DeploymentEntity | null> {
    return this.repo.findOne({ where: { id }, relations: DETAILS, order: DETAILS_ORDER });
  }

  /**
   * The deployment with its flow, its work queue and that queue's pool, without its schedules: what making runs of
   * it reads, their events included.
   */
  async findWithPlacement(id: string): Promise<DeploymentEntity | null> {
    // `find`, not `findOne`: its LIMIT makes TypeORM select the id first in a query of its own when it joins.
    const [deployment] = await this.repo.find({
      where: { id },
      relations: { flow: true, work_queue: { work_pool: true } },
    });
    return deployment ?? null;
  }

  /** {@link findDetailed} for many ids, in no particular order. */
  findDetailedByIds(ids: string[]): Promise<DeploymentEntity[]> {
    if (ids.length === 0) return Promise.resolve([]);
    return this.repo.find({ where: { id: In(ids) }, relations: DETAILS, order: DETAILS_ORDER });
  }

  findDetailedByFlowName(flowName: string, name: string): Promise<DeploymentEntity | null> {
    return this.repo.findOne({ where: { name, flow: { name: flowName } }, relations: DETAILS, order: DETAILS_ORDER });
  }

  findByFlowAndName(flowId: string, name: string): Promise<DeploymentEntity | null> {
    return this.repo.findOneBy({ flow_id: flowId, name });
  }

  /**
   * Inserts the deployment or, when one with the same (flow_id, name) exists, overwrites only `updateColumns`
   * from `values`. Resolves to the row's id and whether it was inserted.
   */
  async upsert(
    values: Partial<DeploymentEntity>,
    updateColumns: (keyof DeploymentEntity)[],
  ): Promise<{ id: string; inserted: boolean }> {
    const result = await this.repo
      .createQueryBuilder()
      .insert()
      .values(values as QueryDeepPartialEntity<DeploymentEntity>)
      .orUpdate(updateColumns, ['flow_id', 'name'])
      // xmax is 0 only on a row version this statement inserted (an ON CONFLICT update sets it).
      .returning('id, (xmax = 0) AS inserted')
      .execute();
    const [row] = result.raw as { id: string; inserted: boolean }[];
    return row;
  }

  /** Writes the given columns of one deployment; resolves to whether it exists. */
  updateColumns(id: string, values: Partial<DeploymentEntity>): Promise<boolean> {
    return this.updateById(id, values as QueryDeepPartialEntity<DeploymentEntity>);
  }

  /**
   * Deletes the deployment's flow runs that are still waiting in a SCHEDULED state and never ran (runs waiting
   * for a concurrency slot are kept), optionally only auto-scheduled or only future ones.
   */
  async deleteScheduledRuns(deploymentId: string, which: ScheduledRunsToDelete): Promise<number> {
    const query = this.manager
      .createQueryBuilder()
      .delete()
      .from(FlowRunEntity)
      .where('deployment_id = :deploymentId', { deploymentId })
      .andWhere(`state_type = 'SCHEDULED'`)
      .andWhere(`state_name != 'AwaitingConcurrencySlot'`)
      .andWhere('run_count = 0');
    if (which.autoScheduledOnly) query.andWhere('auto_scheduled = true');
    if (which.futureOnly) query.andWhere('next_scheduled_start_time > now()');
    const result = await query.execute();
    return result.affected ?? 0;
  }
}
